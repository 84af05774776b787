//! `cairn-population`: populations, the named and versioned queries an auditor tests for
//! completeness and accuracy (information produced by the entity).
//!
//! A population is SQL over the lake's tables ([`Definition`], built in from `populations.toml`).
//! [`run`] executes it with Apache DataFusion over local copies of the lake objects the caller has
//! read and checked, and returns every row with its digest, the digest of the whole list and, for
//! populations over audit events, each chain's sequence range in the period with the numbers
//! missing from it. It does not read the store: the caller hands it the files.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, UInt64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The built-in populations.
pub const BUILTIN: &str = include_str!("../populations.toml");

/// The table a population's completeness is proven over.
pub const EVENTS: &str = "events";

/// What went wrong defining or running a population.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PopulationError {
    /// The definitions do not parse or break a rule.
    #[error("populations: {0}")]
    Definition(String),
    /// No population has that name.
    #[error("no population {name:?}; one of: {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: String,
    },
    /// A period bound is not a day, or the period ends before it starts.
    #[error("period: {0}")]
    Period(String),
    /// The query needs a table the caller did not provide.
    #[error("population {population:?} reads table {table:?}, which the lake does not hold")]
    MissingTable {
        /// The population.
        population: String,
        /// The table.
        table: String,
    },
    /// The SQL engine failed.
    #[error("population {population:?}: {source}")]
    Query {
        /// The population.
        population: String,
        /// The engine's error.
        source: Box<datafusion::error::DataFusionError>,
    },
    /// A row could not be written as canonical JSON.
    #[error("population {population:?}: row {row}: {detail}")]
    Row {
        /// The population.
        population: String,
        /// Its index.
        row: usize,
        /// Why.
        detail: String,
    },
}

/// One population: SQL over the lake's tables.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    /// Its name (`[a-z0-9-]`).
    pub name: String,
    /// Its version: raised whenever its SQL changes.
    pub version: u32,
    /// A title.
    pub title: String,
    /// What it holds, in an auditor's words.
    pub description: String,
    /// The controls it supports.
    #[serde(default)]
    pub controls: Vec<String>,
    /// The SQL, with `{since}` and `{until}` for the period.
    pub sql: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    population: Vec<Definition>,
}

/// The tables a population may read.
pub const TABLES: [&str; 1] = [EVENTS];

impl Definition {
    /// The tables its SQL reads, of [`TABLES`].
    pub fn tables(&self) -> Vec<&'static str> {
        TABLES.into_iter().filter(|t| mentions(&self.sql, t)).collect()
    }

    /// The SQL with the period's bounds written in: the exact text that runs, and that an
    /// auditor re-runs.
    pub fn sql_for(&self, period: &Period) -> String {
        self.sql.replace("{since}", &period.since_bound()).replace("{until}", &period.until_bound())
    }
}

/// Whether `sql` names `table` as a word.
fn mentions(sql: &str, table: &str) -> bool {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|w| w.eq_ignore_ascii_case(table))
}

/// Parses and checks population definitions.
pub fn parse(text: &str) -> Result<Vec<Definition>, PopulationError> {
    let file: File = toml::from_str(text).map_err(|e| PopulationError::Definition(e.to_string()))?;
    let mut seen = std::collections::BTreeSet::new();
    for d in &file.population {
        let bad = |why: &str| PopulationError::Definition(format!("population {:?}: {why}", d.name));
        if d.name.is_empty() || !d.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(bad("a name is lowercase letters, digits and '-'"));
        }
        if !seen.insert(d.name.clone()) {
            return Err(bad("defined twice"));
        }
        if d.version == 0 {
            return Err(bad("version starts at 1"));
        }
        if d.tables().is_empty() {
            return Err(bad(&format!("its SQL reads none of the tables a population may read ({})", TABLES.join(", "))));
        }
        let rest = d.sql.replace("{since}", "").replace("{until}", "");
        if rest.contains('{') || rest.contains('}') {
            return Err(bad("the only placeholders are {since} and {until}"));
        }
    }
    Ok(file.population)
}

/// The built-in populations.
pub fn builtin() -> Result<Vec<Definition>, PopulationError> {
    parse(BUILTIN)
}

/// The population named `name` among `all`.
pub fn find<'a>(all: &'a [Definition], name: &str) -> Result<&'a Definition, PopulationError> {
    all.iter().find(|d| d.name == name).ok_or_else(|| PopulationError::Unknown {
        name: name.to_string(),
        known: all.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", "),
    })
}

/// An audit period: first and last day, both inclusive; open ends take everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Period {
    /// First day.
    pub since: Option<NaiveDate>,
    /// Last day.
    pub until: Option<NaiveDate>,
}

impl Period {
    /// A period from two optional `YYYY-MM-DD` days.
    pub fn parse(since: Option<&str>, until: Option<&str>) -> Result<Self, PopulationError> {
        let day = |d: Option<&str>| {
            d.map(|d| {
                NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| PopulationError::Period(format!("{d:?} is not a day (YYYY-MM-DD)")))
            })
            .transpose()
        };
        let period = Self { since: day(since)?, until: day(until)? };
        if let (Some(s), Some(u)) = (period.since, period.until) {
            if u < s {
                return Err(PopulationError::Period(format!("it ends ({u}) before it starts ({s})")));
            }
        }
        Ok(period)
    }

    fn since_bound(&self) -> String {
        self.since.map_or_else(|| "0000-01-01".to_string(), |d| d.format("%Y-%m-%d").to_string())
    }

    fn until_bound(&self) -> String {
        self.until
            .and_then(|d| d.succ_opt())
            .map_or_else(|| "9999-12-31".to_string(), |d| d.format("%Y-%m-%d").to_string())
    }
}

/// One chain's sequence numbers among the period's events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainRange {
    /// The chain.
    pub chain: String,
    /// Lowest seq in the period.
    pub first_seq: u64,
    /// Highest seq in the period.
    pub last_seq: u64,
    /// Events (rows) in the period, duplicates included.
    pub events: u64,
    /// Distinct seqs.
    pub distinct: u64,
    /// Seqs between the first and the last that no event holds (at most [`MISSING_LISTED`]).
    pub missing: Vec<u64>,
    /// How many are missing in all.
    pub missing_total: u64,
    /// No seq is missing between the first and the last.
    pub complete: bool,
}

/// How many missing seqs a range lists; the rest are counted.
pub const MISSING_LISTED: usize = 1000;

/// The SQL that gives the completeness ranges (each chain's seqs in the period), as shipped.
pub fn completeness_sql(period: &Period) -> String {
    format!(
        "SELECT chain, seq\nFROM events\nWHERE ts >= '{}' AND ts < '{}'\nORDER BY chain, seq\n",
        period.since_bound(),
        period.until_bound()
    )
}

/// A population, run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Population {
    /// The exact SQL that ran.
    pub sql: String,
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Every row as canonical JSON (RFC 8785), in the query's order.
    pub rows: Vec<String>,
    /// SHA-256 of each row's canonical JSON.
    pub row_digests: Vec<String>,
    /// Each chain's range in the period, when the population reads audit events.
    pub completeness: Vec<ChainRange>,
}

impl Population {
    /// SHA-256 of the row digests, one per line, each line ending in `\n`: one value for the
    /// whole list, in order.
    pub fn digest_list_sha256(&self) -> String {
        digest_list_sha256(&self.row_digests)
    }
}

/// SHA-256 of `digests`, one per line, each ending in `\n`.
pub fn digest_list_sha256(digests: &[String]) -> String {
    let mut text = String::with_capacity(digests.len() * 65);
    for d in digests {
        text.push_str(d);
        text.push('\n');
    }
    cairn_evidence::digest::sha256_hex(text.as_bytes())
}

/// Runs `definition` for `period` over `tables`: each table's name with the folder holding
/// copies of its Parquet objects.
pub async fn run(
    definition: &Definition,
    period: &Period,
    tables: &BTreeMap<String, PathBuf>,
) -> Result<Population, PopulationError> {
    let name = definition.name.clone();
    let query = |source: datafusion::error::DataFusionError| PopulationError::Query {
        population: name.clone(),
        source: Box::new(source),
    };
    // One partition: rows come out in the query's ORDER BY, computed the same way every run.
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
    for table in definition.tables() {
        let dir = tables.get(table).ok_or_else(|| PopulationError::MissingTable {
            population: definition.name.clone(),
            table: table.to_string(),
        })?;
        let path = format!("{}/", dir.display());
        ctx.register_parquet(table, &path, ParquetReadOptions::default()).await.map_err(query)?;
    }
    let sql = definition.sql_for(period);
    let frame = ctx.sql(&sql).await.map_err(query)?;
    let columns: Vec<String> = frame.schema().fields().iter().map(|f| f.name().clone()).collect();
    let batches = frame.collect().await.map_err(query)?;
    let mut rows = Vec::new();
    let mut row_digests = Vec::new();
    for batch in &batches {
        for (i, row) in json_rows(batch).into_iter().enumerate() {
            let text = cairn_evidence::canonical::canonical_string(&Value::Object(row)).map_err(|e| {
                PopulationError::Row { population: definition.name.clone(), row: rows.len() + i, detail: e.to_string() }
            })?;
            row_digests.push(cairn_evidence::digest::sha256_hex(text.as_bytes()));
            rows.push(text);
        }
    }
    let completeness = if definition.tables().contains(&EVENTS) {
        let frame = ctx.sql(&completeness_sql(period)).await.map_err(query)?;
        ranges(&frame.collect().await.map_err(query)?)
    } else {
        Vec::new()
    };
    Ok(Population { sql, columns, rows, row_digests, completeness })
}

/// The rows of `batch` as JSON objects: integers and booleans as JSON numbers and booleans,
/// nulls as null, everything else as the engine displays it.
fn json_rows(batch: &RecordBatch) -> Vec<Map<String, Value>> {
    let options = FormatOptions::default();
    let schema = batch.schema();
    let mut rows = vec![Map::new(); batch.num_rows()];
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        let formatter = ArrayFormatter::try_new(column.as_ref(), &options).ok();
        for (i, row) in rows.iter_mut().enumerate() {
            let value = if column.is_null(i) {
                Value::Null
            } else {
                let shown = formatter.as_ref().map(|f| f.value(i).to_string()).unwrap_or_default();
                match field.data_type() {
                    DataType::Boolean => Value::Bool(shown == "true"),
                    t if t.is_integer() => {
                        shown.parse::<i128>().ok().and_then(|n| serde_json::Number::from_i128(n)).map_or(Value::String(shown), Value::Number)
                    }
                    _ => Value::String(shown),
                }
            };
            row.insert(field.name().clone(), value);
        }
    }
    rows
}

/// Each chain's range from `(chain, seq)` rows ordered by chain and seq.
fn ranges(batches: &[RecordBatch]) -> Vec<ChainRange> {
    let mut by_chain: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for batch in batches {
        let chains = batch.column(0);
        let options = FormatOptions::default();
        let Ok(chain_text) = ArrayFormatter::try_new(chains.as_ref(), &options) else { continue };
        let seqs = batch.column(1).as_primitive_opt::<UInt64Type>();
        for i in 0..batch.num_rows() {
            let Some(seqs) = seqs else { continue };
            by_chain.entry(chain_text.value(i).to_string()).or_default().push(seqs.value(i));
        }
    }
    by_chain
        .into_iter()
        .map(|(chain, mut seqs)| {
            let events = seqs.len() as u64;
            seqs.sort_unstable();
            seqs.dedup();
            let (first_seq, last_seq) = (seqs[0], seqs[seqs.len() - 1]);
            let mut missing = Vec::new();
            let mut missing_total = 0u64;
            for pair in seqs.windows(2) {
                for s in pair[0] + 1..pair[1] {
                    missing_total += 1;
                    if missing.len() < MISSING_LISTED {
                        missing.push(s);
                    }
                }
            }
            ChainRange {
                chain,
                first_seq,
                last_seq,
                events,
                distinct: seqs.len() as u64,
                missing,
                missing_total,
                complete: missing_total == 0,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_populations_parse_and_name_their_tables() {
        let all = builtin().unwrap();
        assert!(all.len() >= 2);
        for d in &all {
            assert_eq!(d.tables(), [EVENTS], "{}", d.name);
        }
        assert!(find(&all, "nope").unwrap_err().to_string().contains("privileged-access-events"));
    }

    #[test]
    fn bad_definitions_are_refused_with_the_reason() {
        let one = |name: &str, sql: &str| {
            format!("[[population]]\nname = \"{name}\"\nversion = 1\ntitle = \"t\"\ndescription = \"d\"\nsql = \"{sql}\"\n")
        };
        let err = |text: String| parse(&text).unwrap_err().to_string();
        assert!(err(one("Bad Name", "SELECT * FROM events")).contains("lowercase"));
        assert!(err(one("x", "SELECT 1")).contains("reads none of the tables"));
        assert!(err(one("x", "SELECT * FROM events WHERE chain = '{chain}'")).contains("placeholders"));
        let twice = format!("{}{}", one("x", "SELECT * FROM events"), one("x", "SELECT * FROM events"));
        assert!(err(twice).contains("defined twice"));
    }

    #[test]
    fn a_period_bounds_by_day_inclusive() {
        let p = Period::parse(Some("2026-11-20"), Some("2026-11-21")).unwrap();
        let d = Definition {
            name: "x".into(),
            version: 1,
            title: String::new(),
            description: String::new(),
            controls: Vec::new(),
            sql: "ts >= '{since}' AND ts < '{until}'".into(),
        };
        assert_eq!(d.sql_for(&p), "ts >= '2026-11-20' AND ts < '2026-11-22'");
        assert_eq!(d.sql_for(&Period::default()), "ts >= '0000-01-01' AND ts < '9999-12-31'");
        assert!(Period::parse(Some("2026-11-21"), Some("2026-11-20")).is_err());
        assert!(Period::parse(Some("2026-13-01"), None).is_err());
    }
}
