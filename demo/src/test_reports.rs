//! The demo organisation's test results, as `cargo nextest run --profile ci` writes them (JUnit
//! XML): each service's unit tests for release 1.4.0, and payments' chaos suite, tagged `chaos`
//! by the source's patterns. Each sits in its release's folder, `<service>/1.4.0/`.
//!
//! Planted: identity's `token refresh survives clock skew` has been skipped as quarantined since
//! the 1.3.0 run of 2026-10-30, past the 14-day limit; payments' `settles a split payment` passed
//! only on its second try (flaky).

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

/// The night the demo's 1.4.0 tests ran.
const RAN_AT: &str = "2026-11-20T22:10:00.000+00:00";

/// A case: its name and what happened.
type Case = (&'static str, Outcome);

#[derive(Clone, Copy)]
enum Outcome {
    Passed,
    /// Failed once, then passed on the rerun.
    Flaky,
    Quarantined,
}

fn cases(service: &str) -> Vec<Case> {
    use Outcome::{Flaky, Passed, Quarantined};
    match service {
        "payments" => vec![
            ("authorises a card payment", Passed),
            ("refuses an expired card", Passed),
            ("settles a split payment", Flaky),
            ("refund never exceeds the capture", Passed),
        ],
        "identity" => vec![
            ("issues a token for a valid login", Passed),
            ("locks an account after five failures", Passed),
            ("token refresh survives clock skew", Quarantined),
        ],
        _ => vec![("writes an object and reads it back", Passed), ("a retention lock refuses deletion", Passed)],
    }
}

/// A nextest JUnit report of `suite` with `cases`, run at `at`.
fn report(run: &str, suite: &str, at: &str, cases: &[Case]) -> String {
    let failures = 0;
    let mut body = String::new();
    for (name, outcome) in cases {
        let _ = match outcome {
            Outcome::Passed => writeln!(body, "        <testcase name=\"{name}\" classname=\"{suite}\" timestamp=\"{at}\" time=\"0.012\">\n        </testcase>"),
            Outcome::Flaky => writeln!(
                body,
                "        <testcase name=\"{name}\" classname=\"{suite}\" timestamp=\"{at}\" time=\"0.410\">\n            <flakyFailure message=\"test failed\" type=\"test failure\">thread 'main' panicked: ledger not settled within 200ms</flakyFailure>\n        </testcase>"
            ),
            Outcome::Quarantined => writeln!(
                body,
                "        <testcase name=\"{name}\" classname=\"{suite}\" timestamp=\"{at}\" time=\"0.000\">\n            <skipped message=\"quarantined: fails under clock skew on shared runners (ID-412)\"/>\n        </testcase>"
            ),
        };
    }
    let tests = cases.len();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{run}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" timestamp=\"{at}\" time=\"1.204\">\n    <testsuite name=\"{suite}\" tests=\"{tests}\" disabled=\"0\" errors=\"0\" failures=\"{failures}\" timestamp=\"{at}\">\n{body}    </testsuite>\n</testsuites>\n"
    )
}

/// Writes the reports under `inputs/tests/` and returns their `[[source]]` entry.
pub fn write(inputs: &Path, services: &[&str]) -> Result<String> {
    let put = |service: &str, version: &str, file: &str, text: String| -> Result<()> {
        let folder = inputs.join("tests").join(service).join(version);
        std::fs::create_dir_all(&folder)?;
        std::fs::write(folder.join(file), text)?;
        Ok(())
    };
    for service in services {
        let suite = format!("{service}::unit");
        put(service, "1.4.0", "unit.xml", report("nextest-run", &suite, RAN_AT, &cases(service)))?;
    }
    let identity_earlier = report("nextest-run", "identity::unit", "2026-10-30T21:40:00.000+00:00", &cases("identity"));
    put("identity", "1.3.0", "unit.xml", identity_earlier)?;
    let chaos = [
        ("payments survive the loss of one database replica", Outcome::Passed),
        ("requests drain when a node is partitioned", Outcome::Passed),
    ];
    put("payments", "1.4.0", "chaos.xml", report("nextest-run", "payments::chaos_network", RAN_AT, &chaos))?;
    Ok("\n[[source]]\nname = \"tests\"\ntype = \"junit\"\nurl = \"inputs/tests/\"\n\
        [source.tags]\nchaos = [\"*chaos*\"]\n"
        .to_string())
}
