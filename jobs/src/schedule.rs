//! `[[job]]` entries: what a nightly job runs and when, and the loop of `cairn schedule`.
//!
//! The loop is written against a [`Timer`] so tests drive it with a clock they control; the
//! program uses the system clock and tokio's timers.

use std::collections::BTreeMap;
use std::future::Future;
use std::str::FromStr as _;

use anyhow::{bail, Context as _, Result};
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
    oscal: Option<bool>,
    populations: Option<Vec<String>>,
    audience: Option<String>,
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
    pub schedule: Schedule,
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
    /// Its bundle also holds the OSCAL documents (`[job.bundle] oscal`, default false).
    pub bundle_oscal: bool,
    /// Populations its bundle holds (`[job.bundle] populations`, default none).
    pub bundle_populations: Vec<String>,
    /// Who its bundle is for (`[job.bundle] audience`, default external).
    pub bundle_audience: cairn_evidence::classification::Audience,
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
        let bundle_oscal = raw.bundle.as_ref().and_then(|b| b.oscal).unwrap_or(false);
        let bundle_populations = raw.bundle.as_ref().and_then(|b| b.populations.clone()).unwrap_or_default();
        let bundle_audience = match raw.bundle.as_ref().and_then(|b| b.audience.as_deref()) {
            None => cairn_evidence::classification::Audience::External,
            Some(a) => cairn_evidence::classification::Audience::parse(a)
                .with_context(|| format!("[[job]] {name:?}: [job.bundle] audience = {a:?}: internal or external"))?,
        };
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
            bundle_oscal,
            bundle_populations,
            bundle_audience,
            publish_url: raw.publish.map(|p| p.url),
        })
    }

    /// The first scheduled time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.schedule.next_after(&t.with_timezone(&self.time_zone)).map(|d| d.with_timezone(&Utc))
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

/// When a job runs: one schedule of the `cron` crate, or two whose times are merged.
///
/// Two only for a crontab line whose day-of-month and day-of-week are both restricted: crontab(5)
/// runs it on the days either field matches, while the crate's own syntax needs both to match.
#[derive(Clone, Debug)]
pub struct Schedule {
    any_of: Vec<cron::Schedule>,
}

impl Schedule {
    /// The first time strictly after `t`, in `t`'s time zone.
    pub fn next_after<Z: chrono::TimeZone>(&self, t: &DateTime<Z>) -> Option<DateTime<Z>> {
        self.any_of.iter().filter_map(|s| s.after(t).next()).min()
    }
}

/// Parses a schedule in one of two forms:
///
/// - six or seven fields, the `cron` crate's own syntax with seconds first (`sec min hour
///   day-of-month month day-of-week [year]`): day-of-week 1-7 is Sunday to Saturday, and a day
///   must match both day-of-month and day-of-week;
/// - five fields, a crontab(5) line (`min hour day-of-month month day-of-week`), firing at second
///   0, with crontab's meaning: day-of-week 0-7 where 0 and 7 are Sunday, and when neither
///   day-of-month nor day-of-week starts with `*`, a day matching either runs.
///
/// Other texts (`@daily`, ...) go to the crate as they are.
pub fn parse_schedule(text: &str) -> Result<Schedule> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    if let [minute, hour, day_of_month, month, day_of_week] = fields[..] {
        let crontab_error = |e: &dyn std::fmt::Display| {
            anyhow::anyhow!(
                "schedule {text:?} is not a cron expression ({e}); a five-field schedule is a crontab(5) line, `min hour day-of-month month day-of-week`, e.g. \"30 2 * * 1-5\" for 02:30 Monday to Friday"
            )
        };
        if day_of_month == "?" {
            return Err(crontab_error(&"`?` is not crontab syntax; write `*`"));
        }
        let weekdays = crontab_weekdays(day_of_week).map_err(|e| crontab_error(&e))?;
        let crate_schedule = |day_of_month: &str, weekdays: &str| {
            cron::Schedule::from_str(&format!("0 {minute} {hour} {day_of_month} {month} {weekdays}"))
                .map_err(|e| crontab_error(&e))
        };
        let any_of = if day_of_month.starts_with('*') || day_of_week.starts_with('*') {
            vec![crate_schedule(day_of_month, &weekdays)?]
        } else {
            vec![crate_schedule(day_of_month, "*")?, crate_schedule("*", &weekdays)?]
        };
        return Ok(Schedule { any_of });
    }
    let schedule = cron::Schedule::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "schedule {text:?} is not a cron expression ({e}); write `sec min hour day-of-month month day-of-week`, e.g. \"0 30 2 * * *\" for 02:30:00 every day"
        )
    })?;
    Ok(Schedule { any_of: vec![schedule] })
}

/// Translates a crontab(5) day-of-week field (0-7, 0 and 7 Sunday, or names; lists, ranges and
/// steps) into the `cron` crate's numbering (1 Sunday to 7 Saturday), as a list of days.
/// `*` stays `*`.
fn crontab_weekdays(field: &str) -> Result<String> {
    if field == "*" {
        return Ok(field.to_string());
    }
    // crontab's numbers: Sunday 0, Monday 1, ..., Saturday 6, Sunday again 7.
    let day = |text: &str| -> Result<u32> {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return match text.parse::<u32>() {
                Ok(n @ 0..=7) => Ok(n),
                _ => bail!("day-of-week {text} is not 0-7 (0 and 7 are Sunday)"),
            };
        }
        Ok(match text.to_ascii_lowercase().as_str() {
            "sun" | "sunday" => 0,
            "mon" | "monday" => 1,
            "tue" | "tues" | "tuesday" => 2,
            "wed" | "wednesday" => 3,
            "thu" | "thurs" | "thursday" => 4,
            "fri" | "friday" => 5,
            "sat" | "saturday" => 6,
            _ => bail!("day-of-week {text:?} is not 0-7 or a day's name"),
        })
    };
    let mut days = [false; 7];
    for element in field.split(',') {
        let (range, step) = match element.split_once('/') {
            None => (element, None),
            Some((range, step)) => match step.parse::<usize>() {
                Ok(step) if step > 0 => (range, Some(step)),
                _ => bail!("day-of-week step {step:?} is not a positive number"),
            },
        };
        let (first, last) = match (range, range.split_once('-')) {
            ("*", _) => (0, 7),
            (_, Some((first, last))) => (day(first)?, day(last)?),
            (_, None) if step.is_none() => {
                let d = day(range)?;
                (d, d)
            }
            (_, None) => bail!("day-of-week step {element:?} must follow a range or `*` (e.g. 1-5/2)"),
        };
        if first > last {
            bail!("day-of-week range {range:?} runs backwards (Sunday at the end of a range is 7, e.g. 5-7)");
        }
        for d in (first..=last).step_by(step.unwrap_or(1)) {
            days[d as usize % 7] = true;
        }
    }
    let listed: Vec<String> = (1..=7).zip(days).filter(|&(_, on)| on).map(|(n, _)| n.to_string()).collect();
    Ok(listed.join(","))
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

    /// The next `n` fire times of `schedule` after `from`, as RFC 3339 text.
    fn fires(schedule: &str, from: &str, n: usize) -> Vec<String> {
        upcoming(&job(schedule), t(from), n).into_iter().map(cairn_evidence::time::format_rfc3339).collect()
    }

    // 2026-12-04 is a Friday.
    const FRIDAY_AFTER_2: &str = "2026-12-04T02:00:00Z";

    #[test]
    fn five_field_weekdays_are_crontab_weekdays() {
        // Monday to Friday: after Friday's run, Monday's.
        let weekdays = ["2026-12-07T02:00:00Z", "2026-12-08T02:00:00Z"];
        assert_eq!(fires("0 2 * * 1-5", FRIDAY_AFTER_2, 2), weekdays);
        assert_eq!(fires("0 2 * * mon-fri", FRIDAY_AFTER_2, 2), weekdays);
        assert_eq!(fires("0 2 * * Mon-Fri", FRIDAY_AFTER_2, 2), weekdays);
        assert_eq!(fires("0 2 * * 1,2,3,4,5", FRIDAY_AFTER_2, 2), weekdays);
        // Friday itself, before its time.
        assert_eq!(fires("0 2 * * 1-5", "2026-12-04T00:00:00Z", 1), ["2026-12-04T02:00:00Z"]);
        // Sunday is 0 and 7.
        for sunday in ["0 2 * * 0", "0 2 * * 7", "0 2 * * SUN", "0 2 * * sunday"] {
            assert_eq!(fires(sunday, FRIDAY_AFTER_2, 2), ["2026-12-06T02:00:00Z", "2026-12-13T02:00:00Z"], "{sunday}");
        }
        // Weekends.
        let weekends = ["2026-12-05T02:00:00Z", "2026-12-06T02:00:00Z", "2026-12-12T02:00:00Z"];
        assert_eq!(fires("0 2 * * sat,sun", FRIDAY_AFTER_2, 3), weekends);
        assert_eq!(fires("0 2 * * 0,6", FRIDAY_AFTER_2, 3), weekends);
        assert_eq!(fires("0 2 * * 6-7", FRIDAY_AFTER_2, 3), weekends);
        // Friday to Sunday, through 7.
        assert_eq!(
            fires("0 2 * * 5-7", FRIDAY_AFTER_2, 3),
            ["2026-12-05T02:00:00Z", "2026-12-06T02:00:00Z", "2026-12-11T02:00:00Z"]
        );
        // Steps: `*` is 0-7, so */2 is Sunday, Tuesday, Thursday, Saturday.
        assert_eq!(
            fires("0 2 * * */2", FRIDAY_AFTER_2, 4),
            ["2026-12-05T02:00:00Z", "2026-12-06T02:00:00Z", "2026-12-08T02:00:00Z", "2026-12-10T02:00:00Z"]
        );
        assert_eq!(
            fires("0 2 * * 1-5/2", FRIDAY_AFTER_2, 3),
            ["2026-12-07T02:00:00Z", "2026-12-09T02:00:00Z", "2026-12-11T02:00:00Z"]
        );
        // Every quarter hour on weekdays: Friday's end, then Monday's start.
        assert_eq!(
            fires("*/15 * * * 1-5", "2026-12-04T23:40:00Z", 3),
            ["2026-12-04T23:45:00Z", "2026-12-07T00:00:00Z", "2026-12-07T00:15:00Z"]
        );
    }

    #[test]
    fn five_field_day_of_month_and_weekday_either_match_when_both_are_restricted() {
        // crontab(5): the 13th, and every Friday.
        assert_eq!(
            fires("0 2 13 * 5", "2026-12-04T03:00:00Z", 3),
            ["2026-12-11T02:00:00Z", "2026-12-13T02:00:00Z", "2026-12-18T02:00:00Z"]
        );
        // A field starting with `*` is not restricted: both must match (odd days that are Fridays).
        assert_eq!(fires("0 2 */2 * 5", "2026-12-04T03:00:00Z", 2), ["2026-12-11T02:00:00Z", "2026-12-25T02:00:00Z"]);
        assert_eq!(fires("0 2 13 * *", "2026-12-04T03:00:00Z", 1), ["2026-12-13T02:00:00Z"]);
    }

    #[test]
    fn six_field_schedules_keep_the_crate_numbering_and_need_both_days_to_match() {
        // 1 is Sunday, 2-6 Monday to Friday, 7 Saturday.
        assert_eq!(fires("0 0 2 * * 2-6", FRIDAY_AFTER_2, 1), ["2026-12-07T02:00:00Z"]);
        assert_eq!(fires("0 0 2 * * 1", FRIDAY_AFTER_2, 1), ["2026-12-06T02:00:00Z"]);
        assert_eq!(fires("0 0 2 * * Sat", FRIDAY_AFTER_2, 1), ["2026-12-05T02:00:00Z"]);
        // The 13th when it is a Friday.
        assert_eq!(fires("0 0 2 13 * 6", FRIDAY_AFTER_2, 1), ["2027-08-13T02:00:00Z"]);
    }

    #[test]
    fn five_field_weekdays_outside_crontab_are_refused() {
        for (schedule, why) in [
            ("0 2 * * 8", "not 0-7"),
            ("0 2 * * fri-mon", "runs backwards"),
            ("0 2 * * mon-sun", "runs backwards"),
            ("0 2 * * 1/2", "must follow a range"),
            ("0 2 * * */0", "not a positive number"),
            ("0 2 * * 1,,2", "not 0-7 or a day's name"),
            ("0 2 * * ?", "not 0-7 or a day's name"),
            ("0 2 ? * 1", "`?` is not crontab syntax"),
            ("0 2 32 * 1", "not a cron expression"),
        ] {
            let err = parse_schedule(schedule).unwrap_err().to_string();
            assert!(err.contains(why) && err.contains("crontab(5)"), "{schedule}: {err}");
        }
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
