//! Datadog: log archives, and the Logs Search API.
//!
//! | type | records | event (default) | metadata kept |
//! | --- | --- | --- | --- |
//! | `datadog-archive` | gzip (or zstd) JSON lines in `dt=YYYYMMDD/hour=HH/archive_*.json.gz` | `/attributes` | `date`; `_id`, `host`, `service`, `source`, `status`, `tags` |
//! | `datadog-api` | logs returned by `POST /api/v2/logs/events/search` | `/attributes/attributes` | `timestamp`; `id`, `host`, `service`, `status`, `tags` |

pub mod api;
pub mod archive;

pub use api::DatadogApiConfig;
pub use archive::DatadogArchive;
