//! `[[job]]` entries: what a nightly job runs and when, and the loop of `cairn schedule`.
//!
//! The loop is written against a [`Timer`] so tests drive it with a clock they control; the
//! program uses the system clock and tokio's timers.

use std::collections::BTreeMap;
use std::future::Future;
use std::str::FromStr as _;

use anyhow::{bail, Result};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use cairn_renderer::bundle::Scope;

/// One step of a job, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Step {
    /// Read new records from every source, commit one run.
    Collect,
    /// Check manifests, digests, chains and supply-chain evidence; commit a verify run.
    Verify,
    /// Evaluate every control against the lake as it now is (read-only).
    Evaluate,
    /// Render the portal.
    Render,
    /// Write a signed evidence bundle.
    Bundle,
    /// Copy the portal and bundles to the configured object-store prefix.
    Publish,
}

impl Step {
    /// Its name in configuration and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Collect => "collect",
            Self::Verify => "verify",
            Self::Evaluate => "evaluate",
            Self::Render => "render",
            Self::Bundle => "bundle",
            Self::Publish => "publish",
        }
    }
}

/// A `[[job]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJob {
    name: String,
    schedule: String,
    time_zone: Option<String>,
    steps: Vec<Step>,
    timeout_minutes: Option<u64>,
    catch_up: Option<bool>,
    bundle: Option<RawJobBundle>,
    publish: Option<RawPublish>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJobBundle {
    framework: Option<String>,
    control: Option<String>,
    only_new: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPublish {
    url: String,
}

/// A validated job.
#[derive(Clone, Debug)]
pub struct Job {
    /// Its name (letters, digits, `-`, `_`).
    pub name: String,
    /// The cron expression as written.
    pub schedule_text: String,
    /// The parsed schedule.
    pub schedule: cron::Schedule,
    /// The time zone the schedule is read in.
    pub time_zone: chrono_tz::Tz,
    /// Steps, in pipeline order.
    pub steps: Vec<Step>,
    /// How long the whole run may take.
    pub timeout: std::time::Duration,
    /// After downtime, run once for the missed time(s).
    pub catch_up: bool,
    /// What the bundle step bundles.
    pub bundle: Scope,
    /// Whether the bundle holds only the evidence this run committed (default) or all of it.
    pub bundle_only_new: bool,
    /// Where the publish step copies to.
    pub publish_url: Option<String>,
}

/// The default limit on a whole run.
pub const DEFAULT_TIMEOUT_MINUTES: u64 = 240;

impl Job {
    /// Validates a raw job; errors say which job and what is wrong.
    pub fn from_raw(raw: RawJob) -> Result<Self> {
        let name = raw.name;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            bail!("[[job]] name {name:?} must be letters, digits, `-` or `_`");
        }
        let schedule = parse_schedule(&raw.schedule).map_err(|e| anyhow::anyhow!("[[job]] {name:?}: {e}"))?;
        let time_zone = match raw.time_zone.as_deref() {
            None => chrono_tz::UTC,
            Some(tz) => chrono_tz::Tz::from_str(tz).map_err(|_| {
                anyhow::anyhow!(
                    "[[job]] {name:?}: unknown time_zone {tz:?} (an IANA name such as \"Europe/Berlin\" or \"UTC\")"
                )
            })?,
        };
        if raw.steps.is_empty() {
            bail!("[[job]] {name:?}: steps is empty (any of collect, verify, evaluate, render, bundle, publish)");
        }
        if raw.steps.windows(2).any(|w| w[0] >= w[1]) {
            bail!(
                "[[job]] {name:?}: steps must be listed once each, in pipeline order: collect, verify, evaluate, render, bundle, publish"
            );
        }
        if raw.steps.contains(&Step::Publish) && raw.publish.is_none() {
            bail!("[[job]] {name:?}: the publish step needs [job.publish] url");
        }
        let bundle_only_new = raw.bundle.as_ref().and_then(|b| b.only_new).unwrap_or(true);
        let bundle = match raw.bundle {
            None | Some(RawJobBundle { framework: None, control: None, .. }) => Scope::All,
            Some(RawJobBundle { framework: Some(f), control: None, .. }) => {
                if !cairn_controls::FRAMEWORKS.iter().any(|(k, _)| *k == f) {
                    bail!("[[job]] {name:?}: unknown bundle framework {f:?}; one of soc2, iso27001, gdpr, hipaa");
                }
                Scope::Framework(f)
            }
            Some(RawJobBundle { framework: None, control: Some(c), .. }) => Scope::Control(c),
            Some(_) => bail!("[[job]] {name:?}: [job.bundle] takes framework or control, not both"),
        };
        let minutes = raw.timeout_minutes.unwrap_or(DEFAULT_TIMEOUT_MINUTES);
        if minutes == 0 {
            bail!("[[job]] {name:?}: timeout_minutes must be at least 1");
        }
        Ok(Self {
            name,
            schedule_text: raw.schedule,
            schedule,
            time_zone,
            steps: raw.steps,
            timeout: std::time::Duration::from_secs(minutes * 60),
            catch_up: raw.catch_up.unwrap_or(true),
            bundle,
            bundle_only_new,
            publish_url: raw.publish.map(|p| p.url),
        })
    }

    /// The first scheduled time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule.after(&t.with_timezone(&self.time_zone)).next().map(|d| d.with_timezone(&Utc))
    }

    /// The latest scheduled time in `(after, until]`, if any: a run missed while nothing was
    /// running.
    pub fn missed(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut last = None;
        let mut t = after;
        // Walk forward; bounded so a schedule firing every second over a long outage stays cheap.
        for _ in 0..100_000 {
            match self.next_after(t) {
                Some(next) if next <= until => {
                    last = Some(next);
                    t = next;
                }
                _ => return last,
            }
        }
        last
    }
}

/// Parses a cron expression with seconds (`sec min hour day-of-month month day-of-week
/// [year]`); a classic five-field expression is read as firing at second 0.
pub fn parse_schedule(text: &str) -> Result<cron::Schedule> {
    let fields = text.split_whitespace().count();
    let full = if fields == 5 { format!("0 {text}") } else { text.to_string() };
    cron::Schedule::from_str(&full).map_err(|e| {
        anyhow::anyhow!(
            "schedule {text:?} is not a cron expression ({e}); write `sec min hour day-of-month month day-of-week`, e.g. \"0 30 2 * * *\" for 02:30:00 every day"
        )
    })
}

/// Time for the scheduler: now, and waiting until a moment.
pub trait Timer {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
    /// Resolves at `t` (at once when `t` has passed).
    fn sleep_until(&self, t: DateTime<Utc>) -> impl Future<Output = ()> + Send;
}

/// The system clock and tokio's timers.
pub struct SystemTimer;

impl Timer for SystemTimer {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, t: DateTime<Utc>) -> impl Future<Output = ()> + Send {
        let wait = (t - Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait)
    }
}

/// Why the scheduler stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// A shutdown signal arrived.
    Signal,
    /// No job has a next time.
    NothingScheduled,
}

/// Runs each job at its scheduled times until `shutdown` resolves.
///
/// `last` holds each job's last scheduled time as recorded by earlier runs; a job whose next
/// time after that has already passed (the scheduler was down) runs once at start when it
/// catches up, however many times were missed. `run` gets the job and the scheduled time it
/// runs for, and is awaited to completion before the next time is computed (one run of a job at
/// a time); a shutdown during a run lets `run` see the same signal and abandon its step.
pub async fn run_schedule<T, R, F>(
    jobs: &[Job],
    timer: &T,
    last: &BTreeMap<String, DateTime<Utc>>,
    mut run: R,
    shutdown: impl Future<Output = ()>,
) -> Stopped
where
    T: Timer,
    R: FnMut(&Job, DateTime<Utc>) -> F,
    F: Future<Output = ()>,
{
    let start = timer.now();
    let mut next: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    for job in jobs {
        let missed = last.get(&job.name).and_then(|&l| job.missed(l, start)).filter(|_| job.catch_up);
        let first = match missed {
            Some(at) => {
                tracing::warn!(job = %job.name, missed = %at, "a scheduled run was missed while the scheduler was down; running it now");
                Some(at)
            }
            None => job.next_after(start),
        };
        if let Some(at) = first {
            tracing::info!(job = %job.name, schedule = %job.schedule_text, time_zone = %job.time_zone, next = %at, "scheduled");
            next.insert(job.name.clone(), at);
        } else {
            tracing::warn!(job = %job.name, schedule = %job.schedule_text, "the schedule has no future time");
        }
    }
    tokio::pin!(shutdown);
    loop {
        let Some((name, at)) =
            next.iter().min_by_key(|(name, at)| (**at, (*name).clone())).map(|(n, a)| (n.clone(), *a))
        else {
            return Stopped::NothingScheduled;
        };
        tokio::select! {
            biased;
            () = &mut shutdown => return Stopped::Signal,
            () = timer.sleep_until(at) => {}
        }
        let Some(job) = jobs.iter().find(|j| j.name == name) else { return Stopped::NothingScheduled };
        tokio::select! {
            biased;
            () = &mut shutdown => return Stopped::Signal,
            () = run(job, at) => {}
        }
        // After a long run, skip the times it overran rather than firing them back to back.
        let after = timer.now().max(at);
        match job.next_after(after) {
            Some(t) => {
                tracing::info!(job = %job.name, next = %t, "next run");
                next.insert(name, t);
            }
            None => {
                next.remove(&name);
            }
        }
    }
}

/// The next `n` times of a job after `t`, for `cairn jobs`.
pub fn upcoming(job: &Job, t: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    let mut out = Vec::with_capacity(n);
    let mut at = t;
    while out.len() < n {
        match job.next_after(at) {
            Some(next) => {
                out.push(next);
                at = next;
            }
            None => break,
        }
    }
    out
}

/// The longest a lock for a job may be held before another run may take it over.
pub fn lock_ttl(job: &Job) -> Duration {
    Duration::from_std(job.timeout).unwrap_or_else(|_| Duration::hours(4)) + Duration::minutes(10)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use cairn_evidence::time::parse_rfc3339;

    fn job(schedule: &str) -> Job {
        let raw: RawJob = toml::from_str(&format!(
            "name = \"nightly\"\nschedule = \"{schedule}\"\nsteps = [\"collect\", \"verify\"]\n"
        ))
        .unwrap();
        Job::from_raw(raw).unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        parse_rfc3339(s).unwrap()
    }

    /// A clock that jumps to whatever time is waited for, and records the waits.
    struct FakeTimer {
        now: Mutex<DateTime<Utc>>,
        /// Each run takes this long.
        run_takes: Duration,
    }

    impl Timer for FakeTimer {
        fn now(&self) -> DateTime<Utc> {
            *self.now.lock().unwrap()
        }
        fn sleep_until(&self, t: DateTime<Utc>) -> impl Future<Output = ()> + Send {
            let mut now = self.now.lock().unwrap();
            if t > *now {
                *now = t;
            }
            std::future::ready(())
        }
    }

    /// Runs the loop until `runs` runs happened; returns the scheduled times they ran for and
    /// the clock at each start.
    async fn drive(jobs: &[Job], start: &str, last: &[(&str, &str)], runs: usize) -> Vec<(String, String, String)> {
        let timer = FakeTimer { now: Mutex::new(t(start)), run_takes: Duration::seconds(1) };
        let last: BTreeMap<String, DateTime<Utc>> = last.iter().map(|(j, at)| ((*j).to_string(), t(at))).collect();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let stop_tx = Mutex::new(Some(stop_tx));
        let stopped = run_schedule(
            jobs,
            &timer,
            &last,
            |job, at| {
                let mut seen = seen.lock().unwrap();
                seen.push((job.name.clone(), at.to_rfc3339(), timer.now().to_rfc3339()));
                let mut now = timer.now.lock().unwrap();
                *now += timer.run_takes;
                if seen.len() == runs {
                    if let Some(tx) = stop_tx.lock().unwrap().take() {
                        let _ = tx.send(());
                    }
                }
                std::future::ready(())
            },
            async {
                let _ = stop_rx.await;
            },
        )
        .await;
        assert_eq!(stopped, Stopped::Signal);
        let seen = seen.lock().unwrap().clone();
        seen
    }

    #[tokio::test]
    async fn runs_at_each_scheduled_time_by_the_controlled_clock() {
        let every_5s = job("*/5 * * * * *");
        let seen = drive(&[every_5s], "2026-11-23T10:00:01Z", &[], 4).await;
        let at: Vec<&str> = seen.iter().map(|(_, at, _)| at.as_str()).collect();
        assert_eq!(
            at,
            [
                "2026-11-23T10:00:05+00:00",
                "2026-11-23T10:00:10+00:00",
                "2026-11-23T10:00:15+00:00",
                "2026-11-23T10:00:20+00:00"
            ]
        );
        // Each run starts at its time, not before.
        assert!(seen.iter().all(|(_, at, started)| at == started), "{seen:?}");
    }

    #[tokio::test]
    async fn two_jobs_interleave_in_time_order() {
        let mut a = job("0 */10 * * * *");
        a.name = "a".into();
        let mut b = job("0 5/10 * * * *");
        b.name = "b".into();
        let seen = drive(&[a, b], "2026-11-23T10:00:30Z", &[], 4).await;
        let order: Vec<(&str, &str)> = seen.iter().map(|(j, at, _)| (j.as_str(), &at[11..19])).collect();
        assert_eq!(order, [("b", "10:05:00"), ("a", "10:10:00"), ("b", "10:15:00"), ("a", "10:20:00")]);
    }

    #[tokio::test]
    async fn after_downtime_one_missed_run_is_caught_up_then_the_schedule_resumes() {
        let nightly = job("0 30 2 * * *");
        // Last ran for 2026-11-20 02:30; the scheduler comes back on the 23rd at 10:00: the 21st,
        // 22nd and 23rd were missed, and only the latest is run, at once.
        let seen =
            drive(std::slice::from_ref(&nightly), "2026-11-23T10:00:00Z", &[("nightly", "2026-11-20T02:30:00Z")], 2)
                .await;
        assert_eq!(seen[0].1, "2026-11-23T02:30:00+00:00");
        assert_eq!(seen[0].2, "2026-11-23T10:00:00+00:00", "the catch-up runs at start");
        assert_eq!(seen[1].1, "2026-11-24T02:30:00+00:00");
        // Without catch-up, the next run is simply the next time.
        let mut no_catch_up = nightly;
        no_catch_up.catch_up = false;
        let seen = drive(&[no_catch_up], "2026-11-23T10:00:00Z", &[("nightly", "2026-11-20T02:30:00Z")], 1).await;
        assert_eq!(seen[0].1, "2026-11-24T02:30:00+00:00");
    }

    #[tokio::test]
    async fn nothing_is_caught_up_when_the_last_run_is_current() {
        let nightly = job("0 30 2 * * *");
        let seen = drive(&[nightly], "2026-11-23T10:00:00Z", &[("nightly", "2026-11-23T02:30:00Z")], 1).await;
        assert_eq!(seen[0].1, "2026-11-24T02:30:00+00:00");
    }

    #[test]
    fn time_zones_move_the_fire_time() {
        let mut j = job("0 30 2 * * *");
        j.time_zone = chrono_tz::Europe::Berlin;
        // 02:30 in Berlin in winter is 01:30 UTC.
        assert_eq!(j.next_after(t("2026-11-23T00:00:00Z")).unwrap(), t("2026-11-23T01:30:00Z"));
    }

    #[test]
    fn five_field_cron_fires_at_second_zero() {
        let j = job("30 2 * * *");
        assert_eq!(j.next_after(t("2026-11-23T00:00:00Z")).unwrap(), t("2026-11-23T02:30:00Z"));
    }

    #[test]
    fn bad_jobs_are_refused_with_the_reason() {
        let parse = |text: &str| Job::from_raw(toml::from_str::<RawJob>(text).unwrap()).unwrap_err().to_string();
        let err = parse("name = \"n\"\nschedule = \"every night\"\nsteps = [\"collect\"]");
        assert!(err.contains("not a cron expression"), "{err}");
        let err = parse("name = \"n\"\nschedule = \"0 0 2 * * *\"\nsteps = [\"verify\", \"collect\"]");
        assert!(err.contains("pipeline order"), "{err}");
        let err = parse("name = \"n\"\nschedule = \"0 0 2 * * *\"\nsteps = [\"publish\"]");
        assert!(err.contains("[job.publish] url"), "{err}");
        let err =
            parse("name = \"n\"\nschedule = \"0 0 2 * * *\"\ntime_zone = \"Mars/Olympus\"\nsteps = [\"collect\"]");
        assert!(err.contains("Mars/Olympus"), "{err}");
        let err = parse("name = \"../x\"\nschedule = \"0 0 2 * * *\"\nsteps = [\"collect\"]");
        assert!(err.contains("letters, digits"), "{err}");
        assert!(toml::from_str::<RawJob>("name = \"n\"\nschedule = \"0 0 2 * * *\"\nsteps = [\"colect\"]").is_err());
    }
}
