//! `--json FILE`: a benchmark's parameters and figures as one JSON document, with the build and
//! the machine it ran on, so runs can be compared across commits and machines.

use std::path::Path;

use anyhow::{Context as _, Result};
use serde_json::{json, Map, Value};

/// The format tag of a benchmark record.
pub const FORMAT: &str = "cairn-bench/1";

/// What one benchmark run measured.
pub struct Record {
    benchmark: &'static str,
    params: Map<String, Value>,
    figures: Map<String, Value>,
}

impl Record {
    /// A record of `benchmark` (`verify`, `ingest`, ...).
    pub fn new(benchmark: &'static str) -> Self {
        Self { benchmark, params: Map::new(), figures: Map::new() }
    }

    /// A parameter the run was given.
    #[must_use]
    pub fn param(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.params.insert(name.to_string(), value.into());
        self
    }

    /// A figure it measured (seconds, rates, MiB, the ratio against its baseline).
    #[must_use]
    pub fn figure(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.figures.insert(name.to_string(), value.into());
        self
    }

    /// The whole document: the record with the build, the machine and the time.
    pub fn document(&self) -> Value {
        json!({
            "format": FORMAT,
            "benchmark": self.benchmark,
            "measured_at": cairn_evidence::time::format_rfc3339(chrono::Utc::now()),
            "build": {
                "version": env!("CARGO_PKG_VERSION"),
                "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
                "commit": commit(),
            },
            "machine": machine(),
            "params": self.params,
            "figures": self.figures,
        })
    }

    /// Writes the document to `path`, replacing it whole (a temporary file renamed over it).
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(&self.document())? + "\n";
        let name = path.file_name().context("--json needs a file name")?.to_string_lossy();
        let temporary = path.with_file_name(format!(".{name}.tmp"));
        std::fs::write(&temporary, text).with_context(|| format!("cannot write {}", temporary.display()))?;
        std::fs::rename(&temporary, path).with_context(|| format!("cannot write {}", path.display()))?;
        println!("figures recorded in {}", path.display());
        Ok(())
    }
}

/// The commit the working directory is at (`CAIRN_COMMIT` when set), `-dirty` when it has
/// changes; none outside a git checkout.
fn commit() -> Option<String> {
    if let Ok(commit) = std::env::var("CAIRN_COMMIT") {
        return Some(commit);
    }
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git").args(args).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let head = git(&["rev-parse", "HEAD"])?;
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{head}-dirty") } else { head })
}

/// Cores, CPU model, memory and kernel, as far as the system says.
fn machine() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_mib = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<u64>().ok())
        .map(|kib| kib / 1024);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok().map(|s| s.trim().to_string());
    json!({
        "cores": std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        "cpu": cpu,
        "memory_mib": memory_mib,
        "os": format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        "kernel": kernel,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_names_the_benchmark_build_machine_and_figures() {
        let dir = std::env::temp_dir().join(format!("cairn-bench-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("verify.json");
        Record::new("verify").param("events", 1000).figure("ratio", 0.61).write(&path).unwrap();
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(doc["format"], FORMAT);
        assert_eq!(doc["benchmark"], "verify");
        assert_eq!(doc["params"]["events"], 1000);
        assert_eq!(doc["figures"]["ratio"], 0.61);
        assert_eq!(doc["build"]["profile"], "debug");
        assert!(doc["machine"]["cores"].as_u64().unwrap() >= 1, "{doc}");
        assert!(doc["measured_at"].as_str().unwrap().ends_with('Z'));
        // Written whole: no temporary file is left beside it.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
