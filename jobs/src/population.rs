//! `cairn population`: a population pack, the signed zip an auditor tests a population with.
//!
//! It holds, under `population/NAME/`, the population's rows (canonical JSON, one per line) and
//! their digests, the exact SQL that produced them and its digest, the parameters, Cairn's version
//! and configuration digest, the row count and control totals, each chain's sequence range in the
//! period with the numbers missing from it, a script that re-runs the query in DuckDB, and with
//! `--sample` rows drawn by the auditor's seed, each with its Merkle proof of membership; under
//! `store/`, every lake object the query read, byte for byte, with its inclusion proof against the
//! signed checkpoint. The bundle's signed manifest covers every file. [`stage`] also puts
//! populations into evidence bundles (`cairn bundle --population`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use cairn_evidence::digest::sha256_hex;
use cairn_evidence::keys::PublicKey;
use cairn_population::{Definition, Period, Population};
use cairn_renderer::bundle::{
    write_bundle, BundleFile, BundleInfo, BundleSpec, Content, InclusionRef, Period as BundlePeriod,
};
use cairn_renderer::model::PortalModel;
use cairn_renderer::LakeView;
use serde_json::json;

use crate::pipeline::{self, Workspace};
use crate::scratch::Scratch;

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
    /// Rows to draw, and the auditor's seed.
    pub sample: Option<(usize, String)>,
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
    /// Rows sampled.
    pub sampled: usize,
}

/// Every population: the built-in ones, with those the configured catalog files define
/// (`[[population]]`), each naming controls the catalog (`checked`, from [`Workspace::controls`])
/// has.
pub fn definitions(ws: &Workspace, checked: &cairn_controls::user::Checked) -> Result<Vec<Definition>> {
    let mut user = Vec::new();
    for path in &ws.config.control_catalogs {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read control catalog {}", path.display()))?;
        user.extend(cairn_population::parse_user(&text, &path.display().to_string())?);
    }
    let all = cairn_population::merge(cairn_population::builtin()?, user)?;
    for d in &all {
        if let Some(unknown) = d.controls.iter().find(|c| !checked.catalog.controls.iter().any(|k| &k.id == *c)) {
            bail!(
                "{}: population {:?} names control {unknown:?}, which the catalog does not have",
                d.defined_in,
                d.name
            );
        }
    }
    Ok(all)
}

/// A population run and its files, ready for a zip: the lake objects it read under `store/`
/// (each with its inclusion proof) and its own files under `population/NAME/`.
pub(crate) struct Staged {
    /// The files.
    pub files: Vec<BundleFile>,
    /// The run.
    pub population: Population,
    /// The sample drawn, if one was asked for.
    pub sample: Option<cairn_population::Sample>,
}

/// The folder a population's files have in a zip.
pub(crate) fn folder(definition: &Definition) -> String {
    format!("population/{}", definition.name)
}

/// What a population run needs: the workspace, the lake view and its model (for the inclusion
/// proofs), and a private scratch folder for the checked copies the engine reads.
pub(crate) struct Inputs<'a> {
    pub ws: &'a Workspace,
    pub view: &'a LakeView,
    pub model: &'a PortalModel,
    pub scratch: &'a Path,
}

/// Reads the objects `definition` needs (checked against the signed manifests), runs it for
/// `period` and stages its files.
pub(crate) async fn stage(
    inputs: &Inputs<'_>,
    definition: &Definition,
    period: &Period,
    sample: Option<&(usize, String)>,
) -> Result<Staged> {
    let Inputs { ws, view, model, scratch } = *inputs;
    let latest = view.manifests.last().context("the lake has no committed run yet; run `cairn collect` first")?;
    let tree_size = model.objects.len() as u64;
    let wanted = definition.tables();
    let mut tables: BTreeMap<String, Vec<(String, PathBuf)>> = BTreeMap::new();
    let mut files = Vec::new();
    let mut objects_read = Vec::new();
    let entries = view.manifests.iter().flat_map(|m| m.objects.iter());
    for (index, entry) in entries.enumerate() {
        if !wanted.contains(&entry.table.as_str()) {
            continue;
        }
        let dir = scratch.join("tables").join(&entry.table);
        let local = dir.join(format!("{index:010}.parquet"));
        if !local.exists() {
            // The bytes the query reads are the committed bytes: checked against the manifest.
            let bytes = ws.lake.get_checked(entry).await?;
            std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            std::fs::write(&local, &bytes).with_context(|| format!("cannot write {}", local.display()))?;
        }
        tables.entry(entry.table.clone()).or_default().push((entry.key.clone(), local.clone()));
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
    if let Some(table) = wanted.iter().find(|t| !tables.contains_key(**t)) {
        bail!("the lake holds no {table} object yet; population {:?} has nothing to read", definition.name);
    }
    let population = cairn_population::run(definition, period, &tables).await?;
    let sample = sample.map(|(size, seed)| population.sample(*size, seed)).transpose()?;
    let simulated = files.iter().any(|f| f.simulated);
    let dir = folder(definition);
    let summary = summary(definition, period, &population, &ws.config.sha256, latest, &objects_read, sample.as_ref());
    let mut add = |name: &str, kind: &str, bytes: Vec<u8>| {
        files.push(BundleFile {
            simulated,
            path: format!("{dir}/{name}"),
            kind: kind.into(),
            controls: definition.controls.clone(),
            content: Content::Bytes(bytes),
            inclusion: None,
        });
    };
    add("query.sql", "population_sql", with_newline(&population.sql));
    add("duckdb.sql", "population_sql", duckdb_script(definition, &population).into_bytes());
    add("rows.jsonl", "population_rows", lines(&population.rows));
    add("digests.txt", "population_digests", lines(&population.row_digests));
    if !population.sequence.is_empty() {
        add("completeness.sql", "population_sql", cairn_population::completeness_sql(period).into_bytes());
        add("sequence.jsonl", "population_sequence", lines(&population.sequence));
    }
    if let Some(sample) = &sample {
        let mut bytes = serde_json::to_vec_pretty(sample)?;
        bytes.push(b'\n');
        add("sample.json", "population_sample", bytes);
    }
    let mut summary_bytes = serde_json::to_vec_pretty(&summary)?;
    summary_bytes.push(b'\n');
    add("population.json", "population_summary", summary_bytes);
    Ok(Staged { files, population, sample })
}

/// Runs the population and writes its signed pack.
pub async fn pack(ws: &Workspace, request: &Request) -> Result<Packed> {
    let checked = ws.checked_controls()?;
    let all = definitions(ws, &checked)?;
    let definition = cairn_population::find(&all, &request.name)?.clone();
    let period = Period::parse(request.since.as_deref(), request.until.as_deref())?;
    let key = ws.signer()?;
    let public = PublicKey::from_verifying(key.verifying_key());
    let (view, checkpoint) = pipeline::signable_view(ws, "population").await?;
    let latest = view.manifests.last().context("the lake has no committed run yet; run `cairn collect` first")?;
    let model = ws.portal_model(&view, &checked, &public, &[])?;
    let scratch = Scratch::new()?;
    let inputs = Inputs { ws, view: &view, model: &model, scratch: &scratch.0 };
    let staged = stage(&inputs, &definition, &period, request.sample.as_ref()).await?;

    let name = format!("cairn-population-{}-{}", definition.name, latest.run_id);
    let path = pipeline::zip_path(&request.out, &name)?;
    let spec = BundleSpec {
        name,
        scope: format!("population {} (version {})", definition.name, definition.version),
        period: BundlePeriod { since: request.since.clone(), until: request.until.clone(), runs: None },
        run_id: latest.run_id.clone(),
        created_at: latest.committed_at.clone(),
        merkle_size: latest.merkle.size,
        merkle_root: latest.merkle.root.clone(),
        checkpoint,
        files: staged.files,
        about: Some(readme_section(&[&definition])),
        audience: None,
    };
    let bundle = write_bundle(&path, spec, key.as_ref())?;
    let population = staged.population;
    let incomplete = population.completeness.iter().filter(|r| !r.complete).map(|r| r.chain.clone()).collect();
    Ok(Packed {
        bundle,
        rows: population.rows.len(),
        rows_sha256: population.digest_list_sha256(),
        definition,
        incomplete,
        sampled: staged.sample.map_or(0, |s| s.rows.len()),
    })
}

/// What README.txt says of a zip holding populations, in an auditor's words: which assertion of
/// information produced by the entity each file supports.
pub(crate) fn readme_section(definitions: &[&Definition]) -> String {
    let mut out = String::from("Populations\n-----------\n");
    for d in definitions {
        let _ = writeln!(out, "population/{}/  {} (version {}, defined {})", d.name, d.title, d.version, origin(d));
    }
    out.push_str(
        "\nEach population is information produced by the entity (IPE), packed so that its\n\
         completeness and accuracy can be tested without screenshots or a re-run you did not see.\n\
         In each population/NAME/ folder:\n\n\
         Produced by a known query, unedited\n\
         \x20 query.sql         the exact SQL that ran, the period's bounds written in; its SHA-256 is\n\
         \x20                   in population.json, which the signed manifest covers.\n\
         \x20 population.json   the parameters, Cairn's version, the SHA-256 of its configuration, the\n\
         \x20                   lake run and Merkle root it was made from, the lake objects read, the\n\
         \x20                   row count and totals, and the digests below.\n\n\
         Accuracy: each item is what the source says\n\
         \x20 rows.jsonl        the population, one row per line (canonical JSON, RFC 8785); each row\n\
         \x20                   carries record_sha256, the SHA-256 of the raw source record, and where\n\
         \x20                   it was read from.\n\
         \x20 digests.txt       each row's SHA-256, in order; their SHA-256 is rows_sha256, and the\n\
         \x20                   rows' Merkle tree hash is rows_merkle_root.\n\
         \x20 store/...         (at the top of the zip) every lake object the query read, byte for\n\
         \x20                   byte, with its inclusion proof against the signed checkpoint.\n\n\
         Completeness: nothing left out\n\
         \x20 duckdb.sql        re-performance: `duckdb < population/NAME/duckdb.sql`, run where the\n\
         \x20                   zip was extracted, runs the same SQL over the carried objects and\n\
         \x20                   lists the same rows.\n\
         \x20 completeness.sql  (audit events) each chain's sequence numbers in the period, listed in\n\
         \x20 sequence.jsonl    sequence.jsonl. Events are numbered per chain without gaps, so a number\n\
         \x20                   missing between a chain's first and last is an event that never\n\
         \x20                   arrived; population.json `completeness` names every one.\n\n\
         Sample\n\
         \x20 sample.json       (when asked for) rows drawn with the auditor's seed, each with a Merkle\n\
         \x20                   proof that it is a member of the population.\n\n\
         verify.py checks all of this: the SQL's digest, the row count, every row digest,\n\
         rows_sha256, the rows' Merkle root, each chain's range recounted from sequence.jsonl, and\n\
         the sample redrawn from its seed with every proof. A row removed, added or changed fails it.\n",
    );
    out
}

fn origin(d: &Definition) -> String {
    match defined_in(d) {
        "built-in" => "in Cairn's catalog".into(),
        file => format!("in the catalog file {file}"),
    }
}

/// `built-in`, or the name of the catalog file: a pack does not disclose the folders of the
/// machine it was made on.
fn defined_in(d: &Definition) -> &str {
    Path::new(&d.defined_in).file_name().and_then(|n| n.to_str()).unwrap_or(&d.defined_in)
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
         --   duckdb < population/{name}/duckdb.sql\n\
         -- The views read exactly the lake objects this pack carries under store/; lake_object is\n\
         -- each row's object key (its path here, less store/).\n",
        name = definition.name,
        version = definition.version,
    );
    for table in definition.tables() {
        let _ = writeln!(
            out,
            "CREATE VIEW {table} AS SELECT * EXCLUDE (filename), substr(filename, 7) AS lake_object \
             FROM read_parquet('store/lake/{table}/*/*.parquet', hive_partitioning = false, filename = true);"
        );
    }
    out.push_str(population.sql.trim_end());
    out.push_str(";\n");
    out
}

fn summary(
    definition: &Definition,
    period: &Period,
    population: &Population,
    config_sha256: &str,
    latest: &cairn_evidence::manifest::RunManifest,
    objects_read: &[serde_json::Value],
    sample: Option<&cairn_population::Sample>,
) -> serde_json::Value {
    let dir = folder(definition);
    // Control totals: rows per chain and per source, for the columns the population has.
    let totals: serde_json::Map<String, serde_json::Value> =
        population.totals.iter().map(|(column, counts)| (format!("rows_by_{column}"), json!(counts))).collect();
    json!({
        "format": "cairn population pack v1",
        "population": {
            "name": definition.name,
            "version": definition.version,
            "title": definition.title,
            "description": definition.description.trim(),
            "controls": definition.controls,
            "defined_in": defined_in(definition),
        },
        "query": {
            "file": format!("{dir}/query.sql"),
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
            "config_sha256": config_sha256,
            "run_id": latest.run_id,
            "run_committed_at": latest.committed_at,
            "merkle_size": latest.merkle.size,
            "merkle_root": latest.merkle.root,
        },
        "objects_read": objects_read,
        "columns": population.columns,
        "row_count": population.rows.len(),
        "rows_sha256": population.digest_list_sha256(),
        "rows_merkle_root": population.rows_merkle_root(),
        "control_totals": totals,
        "completeness": population.completeness,
        "complete": population.completeness.iter().all(|r| r.complete),
        "sample": sample.map(|s| json!({
            "file": format!("{dir}/sample.json"), "seed": s.seed, "size": s.size, "drawn": s.rows.len(), "method": s.method,
        })),
    })
}

/// Where a pack with no `--out` goes.
pub fn default_out(ws: &Workspace) -> &Path {
    &ws.config.bundles_out
}
