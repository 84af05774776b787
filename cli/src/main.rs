//! `cairn`: collects compliance evidence into a verifiable lake, verifies every hash chain and
//! signature, renders a read-only auditor portal and writes signed evidence bundles.
//!
//! Exit codes: 0 everything verified; 1 evidence findings (breaks still open, bad signatures, a
//! bundle that does not check); 2 the job itself failed (configuration, I/O, a bug).
#![deny(unsafe_code)]

mod commands;

use cairn_jobs::progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// Compliance evidence you can verify: collect, verify, render, bundle.
#[derive(Parser)]
#[command(name = "cairn", version, about = "Compliance evidence you can verify: collect, verify, render, bundle.", long_about = None, after_help = "\
Exit codes: 0 all evidence verified, 1 evidence findings (a break stays open until it is resolved
or acknowledged: `cairn findings`, `cairn ack`), 2 the job failed.

Start with `cairn demo --dir /tmp/cairn-demo`: it writes a sample organisation (configuration,
keys, signed audit logs with planted faults), runs every stage and prints where the
portal and the signed evidence zip are.")]
struct Cli {
    /// Configuration file.
    #[arg(long, global = true, default_value = "cairn.toml", env = "CAIRN_CONFIG")]
    config: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    /// More logging (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only warnings and errors on stderr.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// `run` and `schedule`: after each run, write Prometheus metrics to this file (for
    /// node_exporter's textfile collector), atomically.
    #[arg(long, global = true, value_name = "PATH")]
    metrics_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

/// Output format of `verify`.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OutputFormat {
    /// A summary and one line per finding.
    Text,
    /// The findings as a JSON array.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a sample organisation into DIR and run collect, verify, render and bundle on it.
    Demo {
        /// Folder to create the organisation in (must not already hold a cairn.toml).
        #[arg(long)]
        dir: PathBuf,
        /// Seed of the generated data: the same seed gives the same bytes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Create Cairn's signing key (PKCS#8 PEM, mode 0600) and its minisign public key.
    ///
    /// With --pkcs11, the key pair is made inside the PKCS#11 token (an HSM) that `[signing]
    /// backend = "pkcs11"` of the configuration names, and never leaves it; a pair already there
    /// under `key_label` is used, not replaced. The token's PIN is read from the variable
    /// `pin_env` names (CAIRN_PKCS11_PIN by default). With --aws-kms, the public key of the KMS
    /// key `[signing] backend = "aws-kms"` names is read (the key is made in KMS, with key spec
    /// ECC_NIST_EDWARDS25519 and usage SIGN_VERIFY). Either way the minisign public key is written
    /// to `[signing] public_key`. docs/signing.md has the steps.
    #[command(after_help = "Examples:
  cairn keygen                                   # keys/cairn.key and keys/cairn.pub
  CAIRN_PKCS11_PIN=... cairn keygen --pkcs11     # the key in the token cairn.toml names
  cairn keygen --aws-kms                         # the public key of the KMS key cairn.toml names")]
    Keygen {
        /// Private key file to create (never overwritten).
        #[arg(long, default_value = "keys/cairn.key")]
        key: PathBuf,
        /// Public key file to create (minisign format).
        #[arg(long, default_value = "keys/cairn.pub")]
        public_key: PathBuf,
        /// Make (or find) the key pair in the configuration's PKCS#11 token instead of a file.
        #[arg(long, conflicts_with_all = ["key", "public_key", "aws_kms"])]
        pkcs11: bool,
        /// Write the public key of the configuration's AWS KMS key instead of making a file.
        #[arg(long, conflicts_with_all = ["key", "public_key"])]
        aws_kms: bool,
    },
    /// Collect new records from every configured source and commit them as one run.
    ///
    /// Source types (`[[source]] type`): jsonl, splunk-export, splunk-results, splunk-hec,
    /// splunk-api, sentinel-export, datadog-archive, datadog-api (audit events; docs/sources.md);
    /// dsse, sigstore-bundle, cyclonedx, spdx, trivy, grype, osv-scanner, sarif, junit,
    /// threat-dragon, threat-composer, markdown-threat-model, release (docs/supply-chain.md); documents (docs/controls.md); decision-card (docs/policies.md).
    /// Each source reads only what is new since the last run; records that cannot be collected
    /// are kept aside in `quarantine` with their file, line and reason, and counted. Object-store URLs (s3://, gs://, az://) take
    /// their credentials from the environment.
    Collect,
    /// Verify manifests, object digests, every audit-event chain and the supply-chain evidence.
    ///
    /// Incremental by default: continues from the chain heads of the last verification and
    /// commits a verify run with its findings. `--full` re-checks the whole retained lake from
    /// the first manifest and only reports. A chain's order comes from `seq` and `prev`, not from
    /// the order the SIEM's files are read in; events that arrive a night late close their gap.
    ///
    /// Exit 1 while any break is open: found now or earlier, and neither resolved nor
    /// acknowledged (`cairn findings` lists them, `cairn ack` accepts one until a date).
    ///
    /// On a cluster, `--shard I/N` (I from 0 to N-1, as a Kubernetes Indexed Job's
    /// JOB_COMPLETION_INDEX) verifies only the chains and lake objects whose stable hash falls in
    /// shard I, and stores its result under `shards/`; `--merge` then checks what only the whole
    /// lake can (manifests, supply chain) and commits the union as one verify run.
    Verify {
        /// Re-check everything from the first manifest (read-only).
        #[arg(long, conflicts_with_all = ["shard", "merge"])]
        full: bool,
        /// Verify shard I of N only, and store its result for `--merge`.
        #[arg(long, value_name = "I/N", value_parser = parse_shard, conflicts_with = "merge")]
        shard: Option<(u32, u32)>,
        /// Combine every shard's stored result into one committed verify run.
        #[arg(long)]
        merge: bool,
        /// Output format on stdout.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// List the breaks the lake records and where each stands: open, acknowledged (by whom, why,
    /// until when) or resolved (a gap whose missing events arrived later).
    ///
    /// By default the open and acknowledged ones; `--all` adds the resolved. Each has an id that
    /// `cairn ack` takes. Exit 1 while any is open, as `cairn verify`.
    Findings {
        /// Also list resolved findings.
        #[arg(long)]
        all: bool,
        /// Output format on stdout (json: an array of {"id", "finding", "status", ...}).
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Hand the lake's signing to a new key: a `rotate` run, whose handover statement the current
    /// key signs and whose manifest the new key signs. `verify` follows the handover: runs
    /// before it check with the old key, runs from it on with the new one, and the portal's key
    /// page lists both.
    ///
    /// The new key is named by another configuration of the same lake (a copy of cairn.toml whose
    /// [signing] names the new key: a key file, a PKCS#11 token or an AWS KMS key). After the
    /// rotation, put that [signing] in cairn.toml: the lake refuses runs signed by the old key.
    #[command(after_help = "Example:
  cairn keygen --key keys/cairn-2027.key --public-key keys/cairn-2027.pub
  sed 's/cairn\\.key/cairn-2027.key/; s/cairn\\.pub/cairn-2027.pub/' cairn.toml > cairn.next.toml
  cairn rotate-key --to cairn.next.toml && mv cairn.next.toml cairn.toml")]
    RotateKey {
        /// The configuration whose [signing] names the new key.
        #[arg(long, value_name = "CONFIG")]
        to: PathBuf,
    },
    /// Acknowledge open findings: a dated statement of who accepts them, why, and until when,
    /// committed as an `acknowledge` run that Cairn signs. While it holds, the findings no longer
    /// set exit code 1 or count as open in the metrics; the portal shows it beside each. Past
    /// `--until` they are open again.
    ///
    /// Example: cairn ack 3f9c0e1d2a4b5c6d --by "Dana Ops" --reason "collector outage, INC-4411;
    /// events restored from the vendor archive" --until 2027-01-31
    Ack {
        /// Finding ids, as `cairn findings` and `cairn verify` print them.
        #[arg(required = true, value_name = "ID")]
        ids: Vec<String>,
        /// Who acknowledges them.
        #[arg(long)]
        by: String,
        /// Why they are accepted.
        #[arg(long)]
        reason: String,
        /// When the acknowledgement lapses: a date (YYYY-MM-DD, at 00:00 UTC) or an RFC 3339
        /// time, at most 366 days ahead.
        #[arg(long, value_parser = parse_until)]
        until: chrono::DateTime<chrono::Utc>,
    },
    /// Erase a data subject's disclosed personal values (GDPR Art. 17), keeping every proof.
    ///
    /// Events that commit to their personal values with salted digests (docs/privacy.md) keep
    /// those values in the disclosure vault, apart from the lake. This removes every disclosed
    /// value of every event that discloses one of the subject's identifiers (the actor's email
    /// and, with it, the event's client address), and commits a signed `erase` run recording
    /// who asked, why, how many values of how many events, and which commitments lost their
    /// values; never the values. Every chain, signature and Merkle proof still verifies.
    Erase {
        /// An identifier of the subject as events disclose it (an email address, a user name);
        /// repeat for each.
        #[arg(long, required = true, value_name = "VALUE")]
        subject: Vec<String>,
        /// Who asks for the erasure.
        #[arg(long)]
        by: String,
        /// Why: the request's reference.
        #[arg(long)]
        reason: String,
    },
    /// Render the read-only auditor portal (static HTML).
    Render {
        /// Output folder (default: [portal] out).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Who the pages are for (default: [portal] audience, else external). `external` pages
        /// withhold the artefacts of sources and tables classified above confidential, and
        /// never offer a bundle made for an internal audience; controls are still evaluated on
        /// everything, and the dashboard counts what was withheld. `internal` pages show every
        /// classification and say they must not be published (docs/privacy.md).
        #[arg(long, value_parser = ["internal", "external"])]
        audience: Option<String>,
    },
    /// Write a signed evidence bundle (zip) for a scope and an audit period.
    ///
    /// The zip holds the committed lake objects in scope with their inclusion proofs, the run
    /// manifests and checkpoints, CSV extracts, the verification report and controls.csv, and is
    /// checked with `minisign`, `sha256sum`, the bundled verify.py or `cairn check-bundle`.
    Bundle {
        /// Output: a FILE.zip, or a folder for the default name (default: [bundles] out).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Only the controls mapped to this framework.
        #[arg(long, value_parser = ["soc2", "iso27001", "gdpr", "hipaa"], conflicts_with_all = ["control", "all"])]
        framework: Option<String>,
        /// Only this control (e.g. LOG-01).
        #[arg(long, conflicts_with = "all")]
        control: Option<String>,
        /// Every control (the default).
        #[arg(long)]
        all: bool,
        /// First collection day of the audit period (YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        /// Last collection day of the audit period (YYYY-MM-DD, inclusive).
        #[arg(long)]
        until: Option<String>,
        /// Draw N events per chain for auditor sampling (evidence/sample.jsonl); each names
        /// the lake object (with its inclusion proof) and row it comes from.
        #[arg(long, value_name = "N")]
        sample: Option<u64>,
        /// Seed of the sample: the same seed draws the same events.
        #[arg(long, default_value_t = 0, requires = "sample")]
        seed: u64,
        /// Also hold the OSCAL documents of the controls in scope (oscal/), their evidence
        /// links pointing at the bundle's own entries (docs/oscal.md).
        #[arg(long)]
        oscal: bool,
        /// Also hold this population's pack (population/NAME/, its objects under store/), its
        /// period the bundle's --since/--until. Repeat for more (docs/populations.md).
        #[arg(long, value_name = "NAME")]
        population: Vec<String>,
        /// Who the bundle is for. `external` (an outside auditor; the default) holds nothing
        /// classified above confidential (sources' and tables' `classification`; records kept
        /// aside are restricted) and no disclosed personal value: each sampled event still
        /// proves its signature through its salted commitments, and README.txt and
        /// manifest.json say what was left out. `internal` (the organisation's compliance team)
        /// holds everything in scope, and with --sample the sampled events' disclosed personal
        /// values (evidence/disclosures.jsonl); the portal never publishes it (docs/privacy.md).
        #[arg(long, value_parser = ["internal", "external"], default_value = "external")]
        audience: String,
    },
    /// Run a population and write its signed pack, for an auditor's completeness and accuracy
    /// tests (information produced by the entity).
    ///
    /// A population is a named, versioned SQL query over the lake (`--list` names them). The pack
    /// (a zip like an evidence bundle, checked the same way) holds the rows with their digests,
    /// the exact SQL and its SHA-256, the period, Cairn's version and configuration digest, every
    /// lake object read with its inclusion proof, the row count and totals, each chain's sequence
    /// range in the period with any number missing, and population/duckdb.sql to re-run the
    /// query in DuckDB over the objects it carries (docs/populations.md).
    ///
    /// Built-in populations ship with the catalog; the files of `[controls] catalog` may add
    /// `[[population]]` tables (or replace a built-in one by name).
    #[command(after_help = "Examples:\n  \
        cairn population --list\n  \
        cairn population privileged-access-events --since 2026-10-01 --until 2026-12-31\n  \
        cairn population audit-events --sample 25 --seed \"auditor chosen 2027-01-15\"\n  \
        cairn bundle --framework soc2 --population privileged-access-events")]
    Population {
        /// The population (see --list).
        #[arg(required_unless_present = "list")]
        name: Option<String>,
        /// List the populations and exit.
        #[arg(long, conflicts_with_all = ["name", "since", "until", "out", "sample"])]
        list: bool,
        /// Also draw N rows, reproducibly from --seed, each with a proof that it is a member of
        /// the population (population/sample.json).
        #[arg(long, value_name = "N", requires = "seed", value_parser = clap::value_parser!(u32).range(1..))]
        sample: Option<u32>,
        /// The sample's seed: a text the auditor chooses, so that neither Cairn nor the company
        /// picks the rows.
        #[arg(long, requires = "sample")]
        seed: Option<String>,
        /// First day of the period (YYYY-MM-DD), by the events' own time.
        #[arg(long)]
        since: Option<String>,
        /// Last day of the period (YYYY-MM-DD, inclusive).
        #[arg(long)]
        until: Option<String>,
        /// Output: a FILE.zip, or a folder for the default name (default: [bundles] out).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Export the assessment in a format other tools read.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Check a bundle: signature, every file's digest, SHA256SUMS, nothing added or removed.
    CheckBundle {
        /// The zip.
        file: PathBuf,
        /// Cairn's public key (minisign format), from a channel you trust.
        #[arg(long)]
        pubkey: PathBuf,
    },
    /// The control catalog.
    #[command(subcommand)]
    Controls(ControlsCommand),
    /// Print a Merkle proof (JSON) from the lake's signed checkpoints.
    #[command(subcommand)]
    Proof(ProofCommand),
    /// Verify a proof file printed by `cairn proof`, offline, against Cairn's public key.
    VerifyProof {
        /// The proof (JSON).
        file: PathBuf,
        /// Cairn's public key (minisign format), from a channel you trust.
        #[arg(long)]
        pubkey: PathBuf,
    },
    /// Follow one event or lake object hop by hop: the source record it was read from (re-read
    /// and compared when it is a local file), the run that collected it, the lake object and
    /// Merkle leaf holding it, what verification found, the controls resting on it and the
    /// bundles in `[bundles] out` whose signed manifest lists it.
    Trace {
        /// A lake object key (lake/…/….parquet, blobs/sha256/…), a SHA-256 (of a lake object,
        /// a blob, a release artefact or an attestation subject), or an audit event's `hash`.
        id: String,
        /// Output format on stdout.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Run a `[[job]]` of cairn.toml once, now: its steps in order, under the job's lock.
    ///
    /// For system cron, systemd timers and Kubernetes CronJobs. A second run of the same job
    /// while one is running exits 2 naming the holder; a lock whose holder died is taken over
    /// after it expires (at once when the holder ran on this host). SIGTERM or SIGINT abandons
    /// the current step; nothing half-written becomes visible, and the next run completes the
    /// work. Exit 0 verified, 1 evidence findings, 2 the job failed (a step, the timeout, a
    /// signal, the lock).
    Run {
        /// The job's name.
        job: String,
    },
    /// Stay up and run every `[[job]]` at its scheduled times.
    ///
    /// Logs each job's next time at start and after each run. After downtime, a job runs once
    /// at start for its latest missed time (`catch_up = false` turns this off). SIGTERM or
    /// SIGINT abandons the current step, releases the locks and exits 0. Use this or an outside
    /// scheduler (cron, a systemd timer, a CronJob) running `cairn run`, never both.
    Schedule,
    /// List the jobs: schedule, time zone, steps, next times, last outcome, and the lock holder
    /// of a job running now.
    Jobs,
    /// Benchmarks (release builds).
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Subcommand)]
enum ExportCommand {
    /// OSCAL 1.1.2 JSON for GRC tools: assessment-results.json (one result per verify run, one
    /// finding per control: satisfied only when it passed, its observation linking the evidence
    /// by SHA-256), the assessment-plan.json it imports, and component-definition.json (the
    /// control catalog with its SOC 2, ISO/IEC 27001:2022, GDPR and HIPAA mappings). The same
    /// lake gives the same bytes. Evidence links are lake object keys, relative to the lake's
    /// root. The portal carries the same documents under oscal/ (docs/oscal.md).
    Oscal {
        /// Folder to write the three documents into (created if missing; existing ones replaced).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum ControlsCommand {
    /// Check the built-in catalog with the `[controls] catalog` files applied: every problem with
    /// its file and line (exit 2), and the requirements no control covers (coverage gaps).
    Check,
}

#[derive(Subcommand)]
enum ProofCommand {
    /// That a committed object is in the log: its leaf, audit path and the signed checkpoint.
    Inclusion {
        /// The object's key in the store (e.g. lake/events/date=…/….parquet).
        key: String,
        /// The run whose checkpoint to prove against (default: the latest).
        #[arg(long)]
        run: Option<String>,
    },
    /// That the log at run NEW extends the log at run OLD: nothing was rewritten in between.
    Consistency {
        /// The older run id.
        old: String,
        /// The newer run id.
        new: String,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Verification throughput against raw Ed25519 verification, and peak memory.
    Verify {
        /// Number of signed, chained events.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Number of chains they are spread over.
        #[arg(long, default_value_t = 16)]
        chains: u64,
        /// Keep the generated lake in this folder (default: a temporary folder, removed).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Also write the parameters and figures, with the build and the machine, to this JSON
        /// file (to compare runs across commits).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Bundle throughput and peak memory against `zip -r` and `sha256sum` on the same files.
    Bundle {
        /// Number of evidence files.
        #[arg(long, default_value_t = 1000)]
        files: u64,
        /// Size of each, in KiB.
        #[arg(long, default_value_t = 1024)]
        size_kib: u64,
        /// Keep the generated lake in this folder (default: a temporary folder, removed).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Also write the parameters and figures, with the build and the machine, to this JSON
        /// file (to compare runs across commits).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Ingest throughput and memory of `collect` against DuckDB converting the same JSON-lines
    /// export to Parquet.
    Ingest {
        /// Number of lines (signed events, about 450 bytes each).
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Timed runs of each side, alternating; medians are compared.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Keep the generated files in this folder (default: a temporary folder, removed).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Also write the parameters and figures, with the build and the machine, to this JSON
        /// file (to compare runs across commits).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Incremental nights: a first full run of a nightly job (collect, verify, evaluate,
    /// render, bundle, publish), then a second after 1% new events, both timed.
    Nightly {
        /// Events of the first night (signed, chained); the second adds 1% more.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Keep the generated files in this folder (default: a temporary folder, removed).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Also write the parameters and figures, with the build and the machine, to this JSON
        /// file (to compare runs across commits).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Portal render throughput against Hugo building as many Markdown pages of similar size,
    /// and the pages a re-render rewrites after one control changed.
    Portal {
        /// Pages in the generated portal, and Markdown pages in the Hugo site.
        #[arg(long, default_value_t = 10_000)]
        pages: usize,
        /// Builds of each side; the median is reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Keep the portal and the Hugo site in this folder (default: a folder in /dev/shm, or
        /// the temporary folder without one, removed).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Also write the parameters and figures, with the build and the machine, to this JSON
        /// file (to compare runs across commits).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Writes the nightly benchmark's inputs (run by `bench nightly` in its own process).
    #[command(hide = true)]
    PrepareNightly {
        /// Events of the first night.
        #[arg(long)]
        events: u64,
        /// Folder to write into.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Writes the ingest benchmark's export (run by `bench ingest` in its own process).
    #[command(hide = true)]
    PrepareIngest {
        /// Number of lines.
        #[arg(long)]
        events: u64,
        /// Folder to write into.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Writes the bundle benchmark's lake (run by `bench bundle` in its own process).
    #[command(hide = true)]
    PrepareBundle {
        /// Number of files.
        #[arg(long)]
        files: u64,
        /// Bytes each.
        #[arg(long)]
        size: u64,
        /// Folder to write into.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Generates and collects the benchmark's events (run by `bench verify` in its own process).
    #[command(hide = true)]
    Prepare {
        /// Number of signed, chained events.
        #[arg(long)]
        events: u64,
        /// Number of chains.
        #[arg(long)]
        chains: u64,
        /// Folder to write into.
        #[arg(long)]
        dir: PathBuf,
    },
}

/// Parses `I/N` with 0 <= I < N.
fn parse_until(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    cairn_evidence::time::parse_rfc3339(text)
        .ok_or_else(|| format!("{text:?} is neither a date (YYYY-MM-DD) nor an RFC 3339 time"))
}

fn parse_shard(text: &str) -> Result<(u32, u32), String> {
    let (i, n) = text.split_once('/').ok_or_else(|| format!("{text:?} is not I/N (e.g. 0/4)"))?;
    let i: u32 = i.trim().parse().map_err(|_| format!("{i:?} is not a shard index"))?;
    let n: u32 = n.trim().parse().map_err(|_| format!("{n:?} is not a shard count"))?;
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: the index must be from 0 to {}", n.saturating_sub(1)));
    }
    Ok((i, n))
}

fn init_logging(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAIRN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(|| progress::LogWriter).with_target(false);
    match cli.log_format {
        LogFormat::Human => {
            progress::enable(terminal && !cli.quiet);
            builder.with_ansi(terminal).init();
        }
        LogFormat::Json => builder.json().init(),
    }
}

/// mimalloc: collection allocates and frees millions of small strings across threads; glibc's
/// allocator spent a quarter of the ingest benchmark's time on them, and its per-thread arenas
/// held freed memory (the verifier's peak grew with the lake until arenas were capped). Built
/// without transparent huge pages (`no_thp`): asking for them made the kernel fault in and zero
/// 2 MiB at a time, which cost a bundle a third of its peak memory and the portal's first build
/// a third of its time (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(commands::run(&cli));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
