//! `cairn population`: a population pack, the signed zip an auditor tests a population with.
//!
//! It holds the population's rows (`population/rows.jsonl`, canonical JSON, one per line) and their
//! digests, the exact SQL that produced them and its digest, the parameters, Cairn's version and
//! configuration digest, every lake object the query read (byte for byte, with its inclusion proof
//! against the signed checkpoint), the row count and control totals, each chain's sequence range in
//! the period with the numbers missing from it, and a script that re-runs the query in DuckDB over
//! the carried objects. The bundle's signed manifest covers every file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::keys::PublicKey;
use cairn_population::{Definition, Period, Population};
use cairn_renderer::bundle::{
    write_bundle, BundleFile, BundleInfo, BundleSpec, Content, InclusionRef, Period as BundlePeriod,
};
use serde_json::json;

use crate::bundling::Scratch;
use crate::pipeline::{self, Workspace};

/// What to pack.
#[derive(Clone, Debug)]
pub struct Request {
    /// The population's name.
    pub name: String,
    /// First day of the period (YYYY-MM-DD), inclusive.
    pub since: Option<String>,
    /// Last day of the period, inclusive.
    pub until: Option<String>,
    /// A `.zip` path, or a folder for the default name.
    pub out: PathBuf,
    /// The configuration file, whose digest the pack records.
    pub config_file: PathBuf,
}

/// What was packed.
#[derive(Clone, Debug)]
pub struct Packed {
    /// The zip.
    pub bundle: BundleInfo,
    /// The population's definition.
    pub definition: Definition,
    /// Rows.
    pub rows: usize,
    /// SHA-256 of the row digests, one per line.
    pub rows_sha256: String,
    /// Chains with a seq missing in the period.
    pub incomplete: Vec<String>,
}

/// Every population Cairn knows.
pub fn definitions() -> Result<Vec<Definition>> {
    Ok(cairn_population::builtin()?)
}

/// Runs the population and writes its signed pack.
pub async fn pack(ws: &Workspace, request: &Request) -> Result<Packed> {
    let all = definitions()?;
    let definition = cairn_population::find(&all, &request.name)?.clone();
    let period = Period::parse(request.since.as_deref(), request.until.as_deref())?;
    let config_bytes = std::fs::read(&request.config_file)
        .with_context(|| format!("cannot read {}", request.config_file.display()))?;
    let key = ws.signing_key()?;
    let public = PublicKey::of(&key);
    let view = pipeline::read_view(ws).await?;
    if let Some(f) = view.lake_findings.first() {
        bail!("the lake's manifests do not verify ({f}); no population is signed over them. Run `cairn verify`");
    }
    let latest = view.manifests.last().context("the lake has no committed run yet; run `cairn collect` first")?;
    let checkpoint =
        view.stored.last().and_then(|s| s.checkpoint.clone()).context("the latest run has no checkpoint")?;
    let checked = ws.checked_controls()?;
    let model = cairn_renderer::portal_model(
        &view,
        &checked,
        &public,
        &crate::trust::joined_keyring(ws.keyring()?, &ws.config, &view.artefacts.keys)?,
        &[],
    );
    let tree_size = model.objects.len() as u64;
    let scratch = Scratch::new()?;
    let wanted = definition.tables();
    let mut tables: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut files = Vec::new();
    let mut objects_read = Vec::new();
    let entries = view.manifests.iter().flat_map(|m| m.objects.iter());
    for (index, entry) in entries.enumerate() {
        if !wanted.contains(&entry.table.as_str()) {
            continue;
        }
        // The bytes the query reads are the committed bytes: checked against the manifest.
        let bytes = ws.lake.get_checked(entry).await?;
        let dir = scratch.0.join(&entry.table);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let local = dir.join(format!("{index:010}.parquet"));
        std::fs::write(&local, &bytes).with_context(|| format!("cannot write {}", local.display()))?;
        tables.insert(entry.table.clone(), dir);
        let proof = model
            .objects
            .get(index)
            .filter(|o| o.key == entry.key)
            .map(|o| o.proof.clone())
            .context("the portal model's log does not match the manifests")?;
        objects_read.push(json!({
            "key": entry.key, "table": entry.table, "sha256": entry.sha256, "rows": entry.rows, "leaf_index": index,
        }));
        files.push(BundleFile {
            simulated: entry.simulated,
            path: format!("store/{}", entry.key),
            kind: "lake_object".into(),
            controls: definition.controls.clone(),
            content: Content::File(local),
            inclusion: Some(InclusionRef {
                key: entry.key.clone(),
                table: entry.table.clone(),
                leaf_index: index as u64,
                tree_size,
                proof,
            }),
        });
    }
    for table in &wanted {
        if !tables.contains_key(*table) {
            // No object yet: the query runs over an empty table of the lake's schema.
            bail!("the lake holds no {table} object yet; population {:?} has nothing to read", definition.name);
        }
    }
    let population = cairn_population::run(&definition, &period, &tables).await?;
    let simulated = files.iter().any(|f| f.simulated);
    let summary = summary(&definition, &period, &population, &config_bytes, latest, &objects_read);
    let mut add = |path: &str, kind: &str, bytes: Vec<u8>| {
        files.push(BundleFile {
            simulated,
            path: path.into(),
            kind: kind.into(),
            controls: definition.controls.clone(),
            content: Content::Bytes(bytes),
            inclusion: None,
        });
    };
    add("population/query.sql", "population_sql", with_newline(&population.sql));
    add("population/completeness.sql", "population_sql", cairn_population::completeness_sql(&period).into_bytes());
    add("population/duckdb.sql", "population_sql", duckdb_script(&definition, &population).into_bytes());
    add("population/rows.jsonl", "population_rows", lines(&population.rows));
    add("population/digests.txt", "population_digests", lines(&population.row_digests));
    let mut summary_bytes = serde_json::to_vec_pretty(&summary)?;
    summary_bytes.push(b'\n');
    add("population/population.json", "population_summary", summary_bytes);

    let name = format!("cairn-population-{}-{}", definition.name, latest.run_id);
    let path = if request.out.extension().is_some_and(|e| e == "zip") {
        request.out.clone()
    } else {
        std::fs::create_dir_all(&request.out).with_context(|| format!("cannot create {}", request.out.display()))?;
        pipeline::safe_join(&request.out, &format!("{name}.zip"))?
    };
    let spec = BundleSpec {
        name,
        scope: format!("population {} (version {})", definition.name, definition.version),
        period: BundlePeriod { since: request.since.clone(), until: request.until.clone(), runs: None },
        run_id: latest.run_id.clone(),
        created_at: latest.committed_at.clone(),
        merkle_size: latest.merkle.size,
        merkle_root: latest.merkle.root.clone(),
        checkpoint,
        files,
    };
    let bundle = write_bundle(&path, spec, &key)?;
    let incomplete = population.completeness.iter().filter(|r| !r.complete).map(|r| r.chain.clone()).collect();
    Ok(Packed {
        bundle,
        rows: population.rows.len(),
        rows_sha256: population.digest_list_sha256(),
        definition,
        incomplete,
    })
}

fn with_newline(text: &str) -> Vec<u8> {
    let mut out = text.trim_end().to_string();
    out.push('\n');
    out.into_bytes()
}

fn lines(items: &[String]) -> Vec<u8> {
    let mut out = String::with_capacity(items.iter().map(|i| i.len() + 1).sum());
    for i in items {
        out.push_str(i);
        out.push('\n');
    }
    out.into_bytes()
}

/// The DuckDB script that re-runs the query over the carried objects, from the folder the pack
/// was extracted to.
fn duckdb_script(definition: &Definition, population: &Population) -> String {
    let mut out = format!(
        "-- Population {name}, version {version}: re-run in DuckDB from the folder this pack was extracted to:\n\
         --   duckdb < population/duckdb.sql\n\
         -- The views read exactly the lake objects this pack carries under store/.\n",
        name = definition.name,
        version = definition.version,
    );
    for table in definition.tables() {
        out.push_str(&format!(
            "CREATE VIEW {table} AS SELECT * FROM read_parquet('store/lake/{table}/*/*.parquet', hive_partitioning = false);\n"
        ));
    }
    out.push_str(population.sql.trim_end());
    out.push_str(";\n");
    out
}

fn summary(
    definition: &Definition,
    period: &Period,
    population: &Population,
    config: &[u8],
    latest: &cairn_evidence::manifest::RunManifest,
    objects_read: &[serde_json::Value],
) -> serde_json::Value {
    let mut by_chain: BTreeMap<String, u64> = BTreeMap::new();
    for row in &population.rows {
        let chain = serde_json::from_str::<serde_json::Value>(row)
            .ok()
            .and_then(|v| v.get("chain").and_then(|c| c.as_str()).map(str::to_string));
        if let Some(chain) = chain {
            *by_chain.entry(chain).or_default() += 1;
        }
    }
    json!({
        "format": "cairn population pack v1",
        "population": {
            "name": definition.name,
            "version": definition.version,
            "title": definition.title,
            "description": definition.description.trim(),
            "controls": definition.controls,
        },
        "query": {
            "file": "population/query.sql",
            "sha256": sha256_hex(&with_newline(&population.sql)),
            "template_sha256": sha256_hex(definition.sql.as_bytes()),
            "parameters": {
                "since": period.since.map(|d| d.to_string()),
                "until": period.until.map(|d| d.to_string()),
            },
            "engine": "Apache DataFusion",
        },
        "produced_by": {
            "cairn_version": env!("CARGO_PKG_VERSION"),
            "config_sha256": sha256_hex(config),
            "run_id": latest.run_id,
            "run_committed_at": latest.committed_at,
            "merkle_size": latest.merkle.size,
            "merkle_root": latest.merkle.root,
        },
        "objects_read": objects_read,
        "columns": population.columns,
        "row_count": population.rows.len(),
        "rows_sha256": population.digest_list_sha256(),
        "control_totals": { "rows_by_chain": by_chain },
        "completeness": population.completeness,
        "complete": population.completeness.iter().all(|r| r.complete),
    })
}

/// Where a pack with no `--out` goes.
pub fn default_out(ws: &Workspace) -> &Path {
    &ws.config.bundles_out
}
