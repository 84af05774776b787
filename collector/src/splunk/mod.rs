//! Splunk: search exports, results pages, HTTP Event Collector batches, and the search REST API.
//!
//! | type | records | event (default) | metadata kept |
//! | --- | --- | --- | --- |
//! | `splunk-export` | JSON lines of `search/jobs/export?output_mode=json`; only `preview:false` rows | `/result/_raw` | `_time`; `index`, `host`, `source`, `sourcetype`, `splunk_server` |
//! | `splunk-results` | `search/jobs/{sid}/results?output_mode=json` pages: `{"results":[…],"messages":[…],"init_offset":n}` | `/_raw` | `_time`; `index`, `host`, `source`, `sourcetype`, `splunk_server` |
//! | `splunk-hec` | HEC event objects back to back (optionally newline separated) | `/event` | `time`; `index`, `host`, `source`, `sourcetype`, `fields` |
//! | `splunk-api` | the search REST API: an export stream, or a search job's results pages | as `splunk-export` (search job: as `splunk-results`) | as `splunk-export` |

pub mod api;
pub mod export;
pub mod hec;
pub mod results;

pub use api::{SplunkApiConfig, SplunkApiMode};
pub use export::SplunkExport;
pub use hec::SplunkHec;
pub use results::SplunkResults;
