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

use cairn_evidence::digest::Sha256Digest;
use cairn_evidence::merkle;
use chrono::NaiveDate;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, UInt64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::{lit, ParquetReadOptions, SessionConfig, SessionContext};
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
    #[error("population {population:?}: {engine}")]
    Query {
        /// The population.
        population: String,
        /// The engine's error (shown in the message, so not chained again).
        engine: Box<datafusion::error::DataFusionError>,
    },
    /// The query gives a column whose values would not read the same in another engine.
    #[error(
        "population {population:?}: column {column:?} is {data_type}; a population selects text, integer and \
         boolean columns, so that its rows read the same in any engine (select a text column instead)"
    )]
    ColumnType {
        /// The population.
        population: String,
        /// The column.
        column: String,
        /// Its type.
        data_type: String,
    },
    /// A sample asks for something the population cannot give.
    #[error("sample: {0}")]
    Sample(String),
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
    /// The SQL, with the period's placeholders ([`PLACEHOLDERS`]).
    pub sql: String,
    /// Where it is defined: `built-in`, or the catalog file.
    #[serde(skip)]
    pub defined_in: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    population: Vec<Definition>,
}

/// A user catalog file: its populations, beside the tables `cairn-controls` reads.
#[derive(Deserialize)]
struct UserFile {
    #[serde(default)]
    population: Vec<Definition>,
}

/// The tables a population may read: the collected tables and Cairn's own results.
pub const TABLES: [&str; 13] = [
    EVENTS,
    "attestations",
    "sboms",
    "sbom_components",
    "scans",
    "vulnerabilities",
    "test_runs",
    "test_cases",
    "artefacts",
    "documents",
    "threat_models",
    "findings",
    "control_results",
];

/// The period's placeholders a population's SQL may hold: `{since}` and `{until}` are days
/// (`YYYY-MM-DD`, the first of the period and the day after its last) to compare with RFC 3339
/// text such as an event's `ts`; `{since_time}` and `{until_time}` are the same instants as RFC
/// 3339 UTC times (`YYYY-MM-DDT00:00:00Z`) to compare with timestamp columns such as the
/// collection `timestamp`. An open period is `0000-01-01` to `9999-12-31` as days, and 1970 to
/// 2200 as times (what engines can compare as timestamps).
pub const PLACEHOLDERS: [&str; 4] = ["{since}", "{until}", "{since_time}", "{until_time}"];

impl Definition {
    /// The tables its SQL reads, of [`TABLES`].
    pub fn tables(&self) -> Vec<&'static str> {
        TABLES.into_iter().filter(|t| mentions(&self.sql, t)).collect()
    }

    /// The SQL with the period's bounds written in: the exact text that runs, and that an
    /// auditor re-runs.
    pub fn sql_for(&self, period: &Period) -> String {
        self.sql
            .replace("{since_time}", &period.since_time())
            .replace("{until_time}", &period.until_time())
            .replace("{since}", &period.since_bound())
            .replace("{until}", &period.until_bound())
    }
}

/// Whether `sql` names `table` as a word.
fn mentions(sql: &str, table: &str) -> bool {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).any(|w| w.eq_ignore_ascii_case(table))
}

/// Parses and checks population definitions.
pub fn parse(text: &str) -> Result<Vec<Definition>, PopulationError> {
    let file: File = toml::from_str(text).map_err(|e| PopulationError::Definition(e.to_string()))?;
    check(file.population, "built-in")
}

/// The populations a user catalog file (`[controls] catalog`) defines in its `[[population]]`
/// tables; its other tables are the control catalog's.
pub fn parse_user(text: &str, file: &str) -> Result<Vec<Definition>, PopulationError> {
    let parsed: UserFile = toml::from_str(text)
        .map_err(|e| PopulationError::Definition(format!("{file}: {}", e.to_string().trim_end())))?;
    check(parsed.population, file)
}

/// The built-in populations with the user's: a user population with a built-in name replaces it.
pub fn merge(builtin: Vec<Definition>, user: Vec<Definition>) -> Result<Vec<Definition>, PopulationError> {
    let mut all = builtin;
    let mut seen = std::collections::BTreeMap::new();
    for d in user {
        if let Some(first) = seen.insert(d.name.clone(), d.defined_in.clone()) {
            return Err(PopulationError::Definition(format!(
                "{}: population {:?} is already defined in {first}",
                d.defined_in, d.name
            )));
        }
        match all.iter_mut().find(|b| b.name == d.name) {
            Some(b) => *b = d,
            None => all.push(d),
        }
    }
    Ok(all)
}

fn check(mut definitions: Vec<Definition>, origin: &str) -> Result<Vec<Definition>, PopulationError> {
    let mut seen = std::collections::BTreeSet::new();
    for d in &mut definitions {
        d.defined_in = origin.to_string();
        let bad = |why: &str| PopulationError::Definition(format!("{origin}: population {:?}: {why}", d.name));
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
            return Err(bad(&format!(
                "its SQL reads none of the tables a population may read ({})",
                TABLES.join(", ")
            )));
        }
        if !d.sql.to_ascii_uppercase().split_whitespace().collect::<Vec<_>>().windows(2).any(|w| w == ["ORDER", "BY"]) {
            return Err(bad("its rows need an order (ORDER BY …), so that every engine lists them alike"));
        }
        let rest = PLACEHOLDERS.iter().fold(d.sql.clone(), |sql, p| sql.replace(p, ""));
        if rest.contains('{') || rest.contains('}') {
            return Err(bad(&format!("the only placeholders are {}", PLACEHOLDERS.join(", "))));
        }
    }
    Ok(definitions)
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
        let (first, last) = (NaiveDate::from_ymd_opt(1970, 1, 1), NaiveDate::from_ymd_opt(2199, 12, 31));
        if let Some(d) =
            [period.since, period.until].into_iter().flatten().find(|d| Some(*d) < first || Some(*d) > last)
        {
            return Err(PopulationError::Period(format!("{d} is outside the days a period may name (1970 to 2199)")));
        }
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

    /// The start as an RFC 3339 time. Open, it is 1970: engines compare timestamps in
    /// nanoseconds, which reach from 1677 to 2262, and Cairn collected nothing before 1970.
    fn since_time(&self) -> String {
        format!(
            "{}T00:00:00Z",
            self.since.map_or_else(|| "1970-01-01".to_string(), |d| d.format("%Y-%m-%d").to_string())
        )
    }

    /// The end (the day after the last) as an RFC 3339 time; open, 2200.
    fn until_time(&self) -> String {
        let day = self
            .until
            .and_then(|d| d.succ_opt())
            .map_or_else(|| "2200-01-01".to_string(), |d| d.format("%Y-%m-%d").to_string());
        format!("{day}T00:00:00Z")
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
    /// The rows the ranges are counted from ([`completeness_sql`]): `{"chain":…,"seq":…}` as
    /// canonical JSON, in chain and seq order.
    pub sequence: Vec<String>,
    /// Control totals: for each of the columns [`TOTALLED`] the population has, its rows per
    /// value (a value that is not text counts under "").
    pub totals: BTreeMap<String, BTreeMap<String, u64>>,
}

/// The columns a population's rows are totalled by, when it has them.
pub const TOTALLED: [&str; 2] = ["chain", "source"];

impl Population {
    /// SHA-256 of the row digests, one per line, each line ending in `\n`: one value for the
    /// whole list, in order.
    pub fn digest_list_sha256(&self) -> String {
        digest_list_sha256(&self.row_digests)
    }

    /// The RFC 6962 Merkle tree hash over the rows (each leaf a row's canonical JSON): what a
    /// sampled row's membership proof leads to.
    pub fn rows_merkle_root(&self) -> String {
        merkle::root(&self.leaves()).to_hex()
    }

    fn leaves(&self) -> Vec<Sha256Digest> {
        self.rows.iter().map(|r| merkle::leaf_hash(r.as_bytes())).collect()
    }

    /// Draws `size` rows with `seed`, each with its proof of membership in the population.
    ///
    /// The draw is reproducible by anyone holding the row digests: every row is ranked by
    /// SHA-256 of `"{seed}:{row digest}"` (UTF-8, the digest in lowercase hex), and the `size`
    /// lowest ranks are taken, listed in population order. Neither Cairn nor the company picks
    /// the rows; the auditor's seed does.
    pub fn sample(&self, size: usize, seed: &str) -> Result<Sample, PopulationError> {
        if size == 0 {
            return Err(PopulationError::Sample("a sample holds at least one row".into()));
        }
        if seed.is_empty() {
            return Err(PopulationError::Sample("the seed is empty; use one the auditor chose".into()));
        }
        let mut ranked: Vec<(String, usize)> = self
            .row_digests
            .iter()
            .enumerate()
            .map(|(i, d)| (cairn_evidence::digest::sha256_hex(format!("{seed}:{d}").as_bytes()), i))
            .collect();
        ranked.sort();
        let mut chosen: Vec<usize> = ranked.into_iter().take(size).map(|(_, i)| i).collect();
        chosen.sort_unstable();
        let leaves = self.leaves();
        let rows = chosen
            .into_iter()
            .map(|index| SampledRow {
                index: index as u64,
                row: self.rows[index].clone(),
                sha256: self.row_digests[index].clone(),
                proof: merkle::inclusion_proof(&leaves, index)
                    .unwrap_or_default()
                    .iter()
                    .map(Sha256Digest::to_hex)
                    .collect(),
            })
            .collect();
        Ok(Sample {
            seed: seed.to_string(),
            size,
            method: SAMPLE_METHOD.to_string(),
            tree_size: self.rows.len() as u64,
            rows_merkle_root: self.rows_merkle_root(),
            rows,
        })
    }
}

/// How a sample is drawn, as its file states it.
pub const SAMPLE_METHOD: &str =
    "rank every row by SHA-256 of \"{seed}:{row sha256}\" and take the lowest; listed in population order";

/// Rows drawn from a population, each with its Merkle membership proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Sample {
    /// The seed the auditor chose.
    pub seed: String,
    /// Rows asked for (fewer are drawn when the population is smaller).
    pub size: usize,
    /// How the rows were drawn.
    pub method: String,
    /// Rows in the population.
    pub tree_size: u64,
    /// The population's [`Population::rows_merkle_root`].
    pub rows_merkle_root: String,
    /// The rows drawn.
    pub rows: Vec<SampledRow>,
}

/// One sampled row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SampledRow {
    /// Its index in the population (0-based), the Merkle leaf index.
    pub index: u64,
    /// The row, canonical JSON, exactly as in `rows.jsonl`.
    pub row: String,
    /// SHA-256 of the row.
    pub sha256: String,
    /// RFC 6962 inclusion proof of the row's leaf, lowercase hex.
    pub proof: Vec<String>,
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

/// The column every table gains: the key of the lake object the row was read from.
pub const LAKE_OBJECT: &str = "lake_object";

/// Runs `definition` for `period` over `tables`: each table's name with its lake objects, each
/// object's key and the path of a local copy of its Parquet bytes. Every table gains the column
/// [`LAKE_OBJECT`].
pub async fn run(
    definition: &Definition,
    period: &Period,
    tables: &BTreeMap<String, Vec<(String, PathBuf)>>,
) -> Result<Population, PopulationError> {
    let name = definition.name.clone();
    let query = |source: datafusion::error::DataFusionError| PopulationError::Query {
        population: name.clone(),
        engine: Box::new(source),
    };
    // One partition: rows come out in the query's ORDER BY, computed the same way every run.
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
    for table in definition.tables() {
        let missing =
            || PopulationError::MissingTable { population: definition.name.clone(), table: table.to_string() };
        let objects = tables.get(table).filter(|o| !o.is_empty()).ok_or_else(missing)?;
        // Each object read apart and named, then all of them as one table: united in pairs, so
        // that the plan is as deep as the logarithm of the object count, not the count.
        let mut frames = Vec::with_capacity(objects.len());
        for (key, path) in objects {
            let one = ctx
                .read_parquet(path.display().to_string(), ParquetReadOptions::default())
                .await
                .and_then(|f| f.with_column(LAKE_OBJECT, lit(key.as_str())))
                .map_err(query)?;
            frames.push(one);
        }
        while frames.len() > 1 {
            let mut paired = Vec::with_capacity(frames.len().div_ceil(2));
            let mut rest = frames.into_iter();
            while let Some(left) = rest.next() {
                paired.push(match rest.next() {
                    Some(right) => left.union(right).map_err(query)?,
                    None => left,
                });
            }
            frames = paired;
        }
        let frame = frames.pop().ok_or_else(missing)?;
        ctx.register_table(table, frame.into_view()).map_err(query)?;
    }
    let sql = definition.sql_for(period);
    // One query and nothing else: no table is created, no file written, no setting changed.
    let read_only = SQLOptions::new().with_allow_ddl(false).with_allow_dml(false).with_allow_statements(false);
    let frame = ctx.sql_with_options(&sql, read_only).await.map_err(query)?;
    for field in frame.schema().fields() {
        let t = field.data_type();
        if !(t.is_integer()
            || matches!(t, DataType::Boolean | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View))
        {
            return Err(PopulationError::ColumnType {
                population: definition.name.clone(),
                column: field.name().clone(),
                data_type: t.to_string(),
            });
        }
    }
    let columns: Vec<String> = frame.schema().fields().iter().map(|f| f.name().clone()).collect();
    let batches = frame.collect().await.map_err(query)?;
    let mut rows = Vec::new();
    let mut row_digests = Vec::new();
    let mut totals: BTreeMap<String, BTreeMap<String, u64>> = TOTALLED
        .iter()
        .filter(|t| columns.iter().any(|c| c == *t))
        .map(|t| ((*t).to_string(), BTreeMap::new()))
        .collect();
    for batch in &batches {
        for (i, row) in json_rows(batch).into_iter().enumerate() {
            for (column, counts) in &mut totals {
                let value = row.get(column).and_then(Value::as_str).unwrap_or_default();
                *counts.entry(value.to_string()).or_default() += 1;
            }
            let text = cairn_evidence::canonical::canonical_string(&Value::Object(row)).map_err(|e| {
                PopulationError::Row { population: definition.name.clone(), row: rows.len() + i, detail: e.to_string() }
            })?;
            row_digests.push(cairn_evidence::digest::sha256_hex(text.as_bytes()));
            rows.push(text);
        }
    }
    let (completeness, sequence) = if definition.tables().contains(&EVENTS) {
        let frame = ctx.sql(&completeness_sql(period)).await.map_err(query)?;
        let pairs = chain_seqs(&frame.collect().await.map_err(query)?);
        let sequence =
            pairs.iter().map(|(chain, seq)| format!("{{\"chain\":{},\"seq\":{seq}}}", json_string(chain))).collect();
        (ranges(pairs), sequence)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(Population { sql, columns, rows, row_digests, completeness, sequence, totals })
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
                    t if t.is_integer() => shown
                        .parse::<i128>()
                        .ok()
                        .and_then(serde_json::Number::from_i128)
                        .map_or(Value::String(shown), Value::Number),
                    _ => Value::String(shown),
                }
            };
            row.insert(field.name().clone(), value);
        }
    }
    rows
}

/// A string as a JSON string literal (RFC 8785 escapes it the same way).
fn json_string(text: &str) -> String {
    Value::String(text.to_string()).to_string()
}

/// The `(chain, seq)` rows of [`completeness_sql`], in order.
fn chain_seqs(batches: &[RecordBatch]) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let options = FormatOptions::default();
    for batch in batches {
        let Ok(chains) = ArrayFormatter::try_new(batch.column(0).as_ref(), &options) else { continue };
        let Some(seqs) = batch.column(1).as_primitive_opt::<UInt64Type>() else { continue };
        out.extend((0..batch.num_rows()).map(|i| (chains.value(i).to_string(), seqs.value(i))));
    }
    out
}

/// Each chain's range from its `(chain, seq)` rows.
fn ranges(pairs: Vec<(String, u64)>) -> Vec<ChainRange> {
    let mut by_chain: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (chain, seq) in pairs {
        by_chain.entry(chain).or_default().push(seq);
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
                missing_total += pair[1] - pair[0] - 1;
                let room = (MISSING_LISTED - missing.len()) as u64;
                missing.extend(pair[0] + 1..pair[1].min(pair[0] + 1 + room));
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
        let tables = |name: &str| find(&all, name).unwrap().tables();
        assert_eq!(tables("privileged-access-events"), [EVENTS]);
        assert_eq!(tables("audit-events"), [EVENTS]);
        assert_eq!(tables("release-sboms"), ["sboms"]);
        assert_eq!(tables("release-builds"), ["attestations"]);
        assert!(all.iter().all(|d| d.defined_in == "built-in"));
        assert!(find(&all, "nope").unwrap_err().to_string().contains("privileged-access-events"));
    }

    #[test]
    fn bad_definitions_are_refused_with_the_reason() {
        let one = |name: &str, sql: &str| {
            format!(
                "[[population]]\nname = \"{name}\"\nversion = 1\ntitle = \"t\"\ndescription = \"d\"\nsql = \"{sql}\"\n"
            )
        };
        let err = |text: String| parse(&text).unwrap_err().to_string();
        assert!(err(one("Bad Name", "SELECT * FROM events ORDER BY seq")).contains("lowercase"));
        assert!(err(one("x", "SELECT 1 ORDER BY 1")).contains("reads none of the tables"));
        assert!(err(one("x", "SELECT * FROM events WHERE chain = '{chain}' ORDER BY seq")).contains("placeholders"));
        assert!(err(one("x", "SELECT * FROM events")).contains("need an order"));
        let twice = format!(
            "{}{}",
            one("x", "SELECT * FROM events ORDER BY seq"),
            one("x", "SELECT * FROM events ORDER BY seq")
        );
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
            sql: "ts >= '{since}' AND ts < '{until}' AND timestamp < '{until_time}' AND timestamp >= '{since_time}'"
                .into(),
            defined_in: String::new(),
        };
        assert_eq!(
            d.sql_for(&p),
            "ts >= '2026-11-20' AND ts < '2026-11-22' AND timestamp < '2026-11-22T00:00:00Z' \
             AND timestamp >= '2026-11-20T00:00:00Z'"
        );
        assert_eq!(
            d.sql_for(&Period::default()),
            "ts >= '0000-01-01' AND ts < '9999-12-31' AND timestamp < '2200-01-01T00:00:00Z' \
             AND timestamp >= '1970-01-01T00:00:00Z'"
        );
        assert!(Period::parse(Some("2026-11-21"), Some("2026-11-20")).is_err());
        assert!(Period::parse(Some("2026-13-01"), None).is_err());
        assert!(Period::parse(None, Some("2262-05-01")).unwrap_err().to_string().contains("1970 to 2199"));
    }

    #[test]
    fn user_files_add_and_replace_populations_beside_their_controls() {
        let text = "[[control]]\nid = \"X-1\"\n\n[[population]]\nname = \"audit-events\"\nversion = 2\ntitle = \"t\"\n\
                    description = \"d\"\nsql = \"SELECT chain FROM events ORDER BY chain\"\n\n[[population]]\nname = \"sboms\"\n\
                    version = 1\ntitle = \"t\"\ndescription = \"d\"\nsql = \"SELECT document FROM sboms ORDER BY document\"\n";
        let user = parse_user(text, "local.toml").unwrap();
        assert_eq!(user.len(), 2);
        assert_eq!(user[0].defined_in, "local.toml");
        let all = merge(builtin().unwrap(), user.clone()).unwrap();
        let replaced = find(&all, "audit-events").unwrap();
        assert_eq!((replaced.version, replaced.defined_in.as_str()), (2, "local.toml"));
        assert_eq!(find(&all, "sboms").unwrap().tables(), ["sboms"]);
        let twice = merge(builtin().unwrap(), [user.clone(), user].concat()).unwrap_err().to_string();
        assert!(twice.contains("already defined in local.toml"), "{twice}");
        let broken = parse_user("[[population]]\nname = \"x\"\n", "bad.toml").unwrap_err().to_string();
        assert!(broken.starts_with("populations: bad.toml: ") && broken.contains("line 1"), "{broken}");
    }

    fn population(rows: usize) -> Population {
        let rows: Vec<String> = (0..rows).map(|i| format!("{{\"seq\":{i}}}")).collect();
        Population {
            sql: String::new(),
            columns: vec!["seq".into()],
            row_digests: rows.iter().map(|r| cairn_evidence::digest::sha256_hex(r.as_bytes())).collect(),
            rows,
            completeness: Vec::new(),
            sequence: Vec::new(),
            totals: BTreeMap::new(),
        }
    }

    #[test]
    fn a_sample_is_reproducible_from_its_seed_and_each_row_proves_membership() {
        let p = population(37);
        let a = p.sample(5, "auditor-2026").unwrap();
        assert_eq!(a, p.sample(5, "auditor-2026").unwrap());
        assert_ne!(a.rows, p.sample(5, "another seed").unwrap().rows);
        assert_eq!(a.rows.len(), 5);
        assert!(a.rows.windows(2).all(|w| w[0].index < w[1].index), "population order");
        let root = Sha256Digest::from_hex(&a.rows_merkle_root).unwrap();
        for r in &a.rows {
            let proof: Vec<Sha256Digest> = r.proof.iter().map(|h| Sha256Digest::from_hex(h).unwrap()).collect();
            let leaf = merkle::leaf_hash(r.row.as_bytes());
            assert!(merkle::verify_inclusion(r.index, a.tree_size, &leaf, &proof, &root).is_ok());
            let other = merkle::leaf_hash(b"{\"seq\":999}");
            assert!(merkle::verify_inclusion(r.index, a.tree_size, &other, &proof, &root).is_err());
        }
        assert_eq!(p.sample(100, "s").unwrap().rows.len(), 37, "a small population is taken whole");
        assert!(p.sample(0, "s").is_err());
        assert!(p.sample(3, "").is_err());
    }

    #[test]
    fn ranges_count_every_missing_seq_and_list_the_first_thousand() {
        let pairs = vec![("a".to_string(), 1), ("a".into(), 3), ("a".into(), 3), ("a".into(), 5000), ("b".into(), 7)];
        let r = ranges(pairs);
        assert_eq!(r[0].missing_total, 1 + 4996);
        assert_eq!(r[0].missing.len(), MISSING_LISTED);
        assert_eq!(r[0].missing[..3], [2, 4, 5]);
        assert_eq!((r[0].events, r[0].distinct, r[0].complete), (4, 3, false));
        assert_eq!((r[1].first_seq, r[1].last_seq, r[1].complete), (7, 7, true));
    }

    /// Writes an `events`-like Parquet object with these (chain, seq, ts) rows.
    fn object(path: &std::path::Path, rows: &[(&str, u64, &str)]) {
        use datafusion::arrow::array::{StringArray, UInt64Array};
        use datafusion::arrow::datatypes::{Field, Schema};
        let schema = std::sync::Arc::new(Schema::new(vec![
            Field::new("chain", DataType::Utf8, false),
            Field::new("seq", DataType::UInt64, false),
            Field::new("ts", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                std::sync::Arc::new(StringArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())),
                std::sync::Arc::new(UInt64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())),
                std::sync::Arc::new(StringArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())),
            ],
        )
        .unwrap();
        let file = std::fs::File::create(path).unwrap();
        let mut writer = datafusion::parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    #[tokio::test]
    async fn a_population_reads_every_object_and_names_where_each_row_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let t = "2026-11-20T01:00:00Z";
        let parts: [&[(&str, u64, &str)]; 3] = [
            &[("a", 1, t), ("a", 2, t)],
            &[("a", 4, t), ("b", 1, t)],
            &[("a", 3, t), ("a", 6, "2026-12-01T00:00:00Z")],
        ];
        let mut objects = Vec::new();
        for (i, rows) in parts.iter().enumerate() {
            let path = dir.path().join(format!("{i}.parquet"));
            object(&path, rows);
            objects.push((format!("lake/events/date=2026-11-20/run-{i}.parquet"), path));
        }
        let tables = BTreeMap::from([(EVENTS.to_string(), objects)]);
        let definition = Definition {
            name: "x".into(),
            version: 1,
            title: String::new(),
            description: String::new(),
            controls: Vec::new(),
            sql: "SELECT chain, seq, lake_object FROM events WHERE ts >= '{since}' AND ts < '{until}' ORDER BY chain, seq"
                .into(),
            defined_in: String::new(),
        };
        let period = Period::parse(Some("2026-11-20"), Some("2026-11-30")).unwrap();
        let p = run(&definition, &period, &tables).await.unwrap();
        assert_eq!(p.rows.len(), 5, "{:?}", p.rows);
        assert_eq!(p.rows[2], r#"{"chain":"a","lake_object":"lake/events/date=2026-11-20/run-2.parquet","seq":3}"#);
        assert_eq!(p.rows[3], r#"{"chain":"a","lake_object":"lake/events/date=2026-11-20/run-1.parquet","seq":4}"#);
        let a = &p.completeness[0];
        assert_eq!((a.first_seq, a.last_seq, a.missing.clone(), a.complete), (1, 4, vec![], true), "seq 6 is outside");
        assert_eq!(p.sequence[0], r#"{"chain":"a","seq":1}"#);
        let by_chain = BTreeMap::from([("a".to_string(), 4), ("b".to_string(), 1)]);
        assert_eq!(p.totals, BTreeMap::from([("chain".to_string(), by_chain)]), "no source column, no source totals");
        let empty = BTreeMap::from([(EVENTS.to_string(), Vec::new())]);
        assert!(matches!(run(&definition, &period, &empty).await, Err(PopulationError::MissingTable { .. })));
    }
}
