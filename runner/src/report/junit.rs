//! JUnit XML, written with quick-junit.
//!
//! One `<testsuite>` per suite, named after its kselftest collection
//! (`net/packetdrill`), its `time` the wall time from its first job's start to
//! its last job's end; one `<testcase>` per job with `classname` =
//! `suite.script` without `.pkt` (`packetdrill.tcp_inq_client`: Jenkins takes
//! what follows the last dot as the class, GitLab shows it as the suite; other
//! dots become `_`) and `name` = the IP version. Every testcase has a `time`
//! (0 for one that did not run). The mapping:
//!
//! | verdict | JUnit |
//! |---|---|
//! | pass | no child |
//! | flaky | pass with a `<flakyFailure>` per failed attempt |
//! | fail | `<failure type="timing-error" message="first line">full diagnostic</failure>`, a `<rerunFailure>` per later attempt |
//! | timeout | `<failure type="timeout">` |
//! | crash | `<error type="crash">` |
//! | skip | `<skipped message="reason"/>` |
//! | xfail | `<skipped type="xfail" message="expected failure: reason">` |
//! | xpass | `<failure type="xpass">` |
//! | not run (the run was stopped, or the report was written while it ran) | `<error type="not-run">` |
//!
//! With [`Options::junit_strict`] (`--junit-schema jenkins`) the same report
//! is written in the form Jenkins' `junit-10.xsd` accepts (`ci/junit/`): no
//! attributes or elements that schema lacks (`skipped`/`timestamp` on
//! `<testsuites>`, `timestamp`/`file` and `<properties>` on `<testcase>`,
//! `time`/`timestamp` on reruns).
//!
//! `system-out` holds the job's log (and a GitLab `[[ATTACHMENT|...]]` line per
//! attempt with artifacts, naming its pcap); properties carry the kernel release, the
//! netdrill version, the tolerance and the IP version, and a test case's the
//! closest call of its attempts (`timing_slack_line`,
//! `timing_slack_margin_usecs`, `timing_slack_tolerance_usecs`: the checked
//! event with the least margin to the edge of its tolerance window).

use super::{headline, Options};
use crate::model::{Attempt, AttemptResult, FailureKind, JobRecord, RunRecord, Verdict};
use chrono::{DateTime, FixedOffset};
use quick_junit::{
    FlakyOrRerun, NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
    XmlString,
};
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer as XmlWriter;
use std::time::Duration;

/// The JUnit report with the default [`Options`].
pub fn render(run: &RunRecord) -> String {
    render_with(run, &Options::default())
}

/// The JUnit report as XML text ([`Options::junit_strict`]: Jenkins' form).
pub fn render_with(run: &RunRecord, opts: &Options) -> String {
    let report = build(run, opts);
    if opts.junit_strict {
        return jenkins_xml(&report);
    }
    // quick-junit writes into a String buffer: only an I/O error could fail it.
    report.to_string().unwrap_or_default()
}

/// `suite.script` without `.pkt`, dots inside either part made `_` (Jenkins
/// splits a classname at its last dot into package and class).
pub fn classname(suite: &str, script: &str) -> String {
    let stem = script.strip_suffix(".pkt").unwrap_or(script);
    format!("{}.{}", suite.replace('.', "_"), stem.replace('.', "_"))
}

/// The typed report (quick-junit can also read a report back, for merging shards).
pub fn build(run: &RunRecord, opts: &Options) -> Report {
    let mut report = Report::new("netdrill");
    if let Some(t) = timestamp(run.start_unix) {
        report.set_timestamp(t);
    }
    report.set_time(duration(run.end_unix - run.start_unix));

    let mut suites: Vec<TestSuite> = Vec::new();
    // Each suite's first start and last end (wall clock).
    let mut suite_span: Vec<Option<(f64, f64)>> = Vec::new();
    for job in &run.jobs {
        let name = opts.collection(&job.id.suite);
        let index = match suites.iter().position(|s| s.name.as_str() == name) {
            Some(i) => i,
            None => {
                let mut s = TestSuite::new(name);
                if let Some(t) = timestamp(run.start_unix) {
                    s.set_timestamp(t);
                }
                s.add_properties([
                    Property::new("kernel_release", &run.host.kernel_release),
                    Property::new("netdrill_version", &run.host.netdrill_version),
                    Property::new("hostname", &run.host.hostname),
                    Property::new("tolerance_usecs", run.tolerance_usecs.to_string()),
                    Property::new("jobs_at_once", run.jobs_at_once.to_string()),
                ]);
                if !run.complete() {
                    s.add_property(Property::new("complete", "false"));
                }
                suites.push(s);
                suite_span.push(None);
                suites.len() - 1
            }
        };
        for a in &job.attempts {
            let end = a.start_unix + a.duration_secs.max(0.0);
            let span = suite_span[index].get_or_insert((a.start_unix, end));
            span.0 = span.0.min(a.start_unix);
            span.1 = span.1.max(end);
        }
        suites[index].add_test_case(test_case(run, job, opts));
    }
    for (s, span) in suites.iter_mut().zip(suite_span) {
        s.set_time(duration(span.map_or(0.0, |(start, end)| end - start)));
    }
    report.add_test_suites(suites);
    report
}

fn test_case(run: &RunRecord, job: &JobRecord, opts: &Options) -> TestCase {
    let mut case = TestCase::new(job.id.ip_version.as_str(), status(run, job, opts));
    case.set_classname(classname(&job.id.suite, &job.id.script));
    // A job that did not run took no time; a skipped one has no attempt.
    case.set_time(Duration::ZERO);
    case.extra
        .insert("file".into(), job.path.to_string_lossy().as_ref().into());
    // The attempt the testcase stands for: the first one of a failure (later ones
    // are its reruns), the deciding one otherwise.
    let primary = match job.verdict {
        Verdict::Fail | Verdict::Timeout | Verdict::Error => job.attempts.first(),
        _ => job.last_attempt(),
    };
    if let Some(a) = primary {
        case.set_time(duration(a.duration_secs));
        if let Some(t) = timestamp(a.start_unix) {
            case.set_timestamp(t);
        }
        let mut out = a.log.trim_end().to_string();
        // GitLab links files named this way from the test's page.
        for dir in job.attempts.iter().filter_map(|a| a.artifacts.as_ref()) {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!(
                "[[ATTACHMENT|{}]]",
                dir.join("packets.pcap").display()
            ));
        }
        if !out.is_empty() {
            case.set_system_out(out);
        }
    }
    case.add_property(Property::new("ip_version", &job.id.ip_version));
    case.add_property(Property::new(
        "tolerance_usecs",
        run.tolerance_usecs.to_string(),
    ));
    case.add_property(Property::new("attempts", job.attempts.len().to_string()));
    if let Some(slack) = job.tightest_slack() {
        case.add_property(Property::new("timing_slack_line", slack.line.to_string()));
        case.add_property(Property::new(
            "timing_slack_margin_usecs",
            slack.margin_usecs.to_string(),
        ));
        case.add_property(Property::new(
            "timing_slack_tolerance_usecs",
            slack.tolerance_usecs.to_string(),
        ));
    }
    if let Some(r) = &job.xfail_reason {
        case.add_property(Property::new("xfail_reason", r));
    }
    if !job.replay_command.is_empty() {
        case.add_property(Property::new("replay", &job.replay_command));
    }
    case
}

/// Failure `type`: the engine's kind, `timeout` or `crash`.
fn failure_type(a: &Attempt) -> String {
    match a.result {
        AttemptResult::Timeout => "timeout".into(),
        AttemptResult::Crash => "crash".into(),
        _ => a.kind.map_or("failure", FailureKind::as_str).into(),
    }
}

/// Failure `message`: the diagnostic's first line, or what happened.
fn failure_message(a: &Attempt) -> String {
    let h = headline(&a.message);
    match a.result {
        AttemptResult::Timeout if h.is_empty() => format!(
            "timed out after {:.0} s",
            if a.duration_secs.is_finite() {
                a.duration_secs
            } else {
                0.0
            }
        ),
        AttemptResult::Timeout => format!("timed out after {:.0} s: {h}", a.duration_secs),
        AttemptResult::Crash if h.is_empty() => "the job process crashed".into(),
        _ => h.to_string(),
    }
}

fn kind_of(a: &Attempt) -> NonSuccessKind {
    if a.result == AttemptResult::Crash {
        NonSuccessKind::Error
    } else {
        NonSuccessKind::Failure
    }
}

/// A failed attempt as a `flakyFailure`/`rerunFailure` element.
fn rerun(a: &Attempt) -> TestRerun {
    let mut r = TestRerun::new(kind_of(a));
    r.set_type(failure_type(a))
        .set_message(failure_message(a))
        .set_time(duration(a.duration_secs));
    if let Some(t) = timestamp(a.start_unix) {
        r.set_timestamp(t);
    }
    let (message, log) = (a.message.trim_end(), a.log.trim_end());
    if !message.is_empty() {
        r.set_stack_trace(message);
    }
    if !log.is_empty() {
        r.set_system_out(log);
    }
    r
}

fn status(run: &RunRecord, job: &JobRecord, opts: &Options) -> TestCaseStatus {
    let failed = |a: &&Attempt| a.result != AttemptResult::Pass;
    match job.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::NotRun => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
            s.set_type("not-run")
                .set_message(super::not_run_reason(super::stop_of(run), opts));
            s
        }
        Verdict::Flaky => TestCaseStatus::Success {
            flaky_runs: job.attempts.iter().filter(failed).map(rerun).collect(),
        },
        Verdict::Skip => {
            let mut s = TestCaseStatus::skipped();
            if let Some(r) = &job.skip_reason {
                s.set_message(r.as_str());
            }
            s
        }
        Verdict::Xfail => {
            let mut s = TestCaseStatus::skipped();
            s.set_type("xfail");
            s.set_message(match &job.xfail_reason {
                Some(r) => format!("expected failure: {r}"),
                None => "expected failure".into(),
            });
            if let Some(a) = job.attempts.iter().rfind(failed) {
                let message = a.message.trim_end();
                if !message.is_empty() {
                    s.set_description(message);
                }
            }
            s
        }
        Verdict::Xpass => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_type("xpass");
            s.set_message(match &job.xfail_reason {
                Some(r) => format!("unexpected pass: expected to fail: {r}"),
                None => "unexpected pass".into(),
            });
            s
        }
        Verdict::Fail | Verdict::Timeout | Verdict::Error => {
            let mut tries = job.attempts.iter();
            let first = tries.next();
            let kind = match (job.verdict, first) {
                (Verdict::Error, _) => NonSuccessKind::Error,
                (_, Some(a)) => kind_of(a),
                (_, None) => NonSuccessKind::Failure,
            };
            let mut s = TestCaseStatus::non_success(kind);
            match first {
                Some(a) => {
                    s.set_type(failure_type(a)).set_message(failure_message(a));
                    let message = a.message.trim_end();
                    if !message.is_empty() {
                        s.set_description(message);
                    }
                }
                None => {
                    s.set_type(match job.verdict {
                        Verdict::Timeout => "timeout",
                        Verdict::Error => "crash",
                        _ => "failure",
                    });
                }
            }
            s.add_reruns(tries.map(rerun));
            s.set_rerun_kind(FlakyOrRerun::Rerun);
            s
        }
    }
}

/// The report in the form Jenkins' `junit-10.xsd` accepts: what that schema
/// knows, in the order it wants (a testcase's outcome, its reruns, its
/// output; a rerun's `type` always set).
fn jenkins_xml(report: &Report) -> String {
    let mut w = XmlWriter::new_with_indent(Vec::new(), b' ', 4);
    // Writing into a Vec cannot fail.
    if jenkins_report(&mut w, report).is_err() {
        return String::new();
    }
    let mut out = w.into_inner();
    out.push(b'\n');
    String::from_utf8_lossy(&out).into_owned()
}

type Xml = XmlWriter<Vec<u8>>;

fn seconds(d: &Option<Duration>) -> Option<String> {
    d.map(|d| format!("{:.3}", d.as_secs_f64()))
}

fn xml_text(w: &mut Xml, tag: &str, body: &str) -> std::io::Result<()> {
    w.write_event(Event::Start(BytesStart::new(tag)))?;
    w.write_event(Event::Text(BytesText::new(body)))?;
    w.write_event(Event::End(BytesEnd::new(tag)))
}

fn xml_outcome(
    w: &mut Xml,
    tag: &str,
    ty: Option<&XmlString>,
    message: Option<&XmlString>,
    body: Option<&XmlString>,
) -> std::io::Result<()> {
    let mut t = BytesStart::new(tag);
    if let Some(ty) = ty {
        t.push_attribute(("type", ty.as_str()));
    }
    if let Some(m) = message {
        t.push_attribute(("message", m.as_str()));
    }
    match body {
        Some(b) => {
            w.write_event(Event::Start(t))?;
            w.write_event(Event::Text(BytesText::new(b.as_str())))?;
            w.write_event(Event::End(BytesEnd::new(tag)))
        }
        None => w.write_event(Event::Empty(t)),
    }
}

fn xml_rerun(w: &mut Xml, flaky: FlakyOrRerun, r: &TestRerun) -> std::io::Result<()> {
    let tag = match (flaky, r.kind) {
        (FlakyOrRerun::Rerun, NonSuccessKind::Failure) => "rerunFailure",
        (FlakyOrRerun::Rerun, NonSuccessKind::Error) => "rerunError",
        (FlakyOrRerun::Flaky, NonSuccessKind::Failure) => "flakyFailure",
        (FlakyOrRerun::Flaky, NonSuccessKind::Error) => "flakyError",
    };
    let mut t = BytesStart::new(tag);
    t.push_attribute(("type", r.ty.as_ref().map_or("failure", |t| t.as_str())));
    if let Some(m) = &r.message {
        t.push_attribute(("message", m.as_str()));
    }
    w.write_event(Event::Start(t))?;
    if let Some(st) = &r.stack_trace {
        xml_text(w, "stackTrace", st.as_str())?;
    }
    if let Some(o) = &r.system_out {
        xml_text(w, "system-out", o.as_str())?;
    }
    if let Some(e) = &r.system_err {
        xml_text(w, "system-err", e.as_str())?;
    }
    w.write_event(Event::End(BytesEnd::new(tag)))
}

fn jenkins_report(w: &mut Xml, report: &Report) -> std::io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let mut root = BytesStart::new("testsuites");
    if let Some(n) = &report.name {
        root.push_attribute(("name", n.as_str()));
    }
    root.push_attribute(("tests", report.tests.to_string().as_str()));
    root.push_attribute(("failures", report.failures.to_string().as_str()));
    root.push_attribute(("errors", report.errors.to_string().as_str()));
    if let Some(t) = seconds(&report.time) {
        root.push_attribute(("time", t.as_str()));
    }
    w.write_event(Event::Start(root))?;
    for suite in &report.test_suites {
        jenkins_suite(w, suite)?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuites")))
}

fn jenkins_suite(w: &mut Xml, suite: &TestSuite) -> std::io::Result<()> {
    let mut t = BytesStart::new("testsuite");
    t.push_attribute(("name", suite.name.as_str()));
    t.push_attribute(("tests", suite.tests.to_string().as_str()));
    t.push_attribute(("failures", suite.failures.to_string().as_str()));
    t.push_attribute(("errors", suite.errors.to_string().as_str()));
    t.push_attribute(("skipped", suite.skipped.to_string().as_str()));
    if let Some(time) = seconds(&suite.time) {
        t.push_attribute(("time", time.as_str()));
    }
    if let Some(ts) = &suite.timestamp {
        let ts = ts.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string();
        t.push_attribute(("timestamp", ts.as_str()));
    }
    w.write_event(Event::Start(t))?;
    if !suite.properties.is_empty() {
        w.write_event(Event::Start(BytesStart::new("properties")))?;
        for p in &suite.properties {
            let mut pt = BytesStart::new("property");
            pt.push_attribute(("name", p.name.as_str()));
            pt.push_attribute(("value", p.value.as_str()));
            w.write_event(Event::Empty(pt))?;
        }
        w.write_event(Event::End(BytesEnd::new("properties")))?;
    }
    for case in &suite.test_cases {
        jenkins_case(w, case)?;
    }
    w.write_event(Event::End(BytesEnd::new("testsuite")))
}

fn jenkins_case(w: &mut Xml, case: &TestCase) -> std::io::Result<()> {
    let mut t = BytesStart::new("testcase");
    t.push_attribute(("name", case.name.as_str()));
    if let Some(c) = &case.classname {
        t.push_attribute(("classname", c.as_str()));
    }
    if let Some(time) = seconds(&case.time) {
        t.push_attribute(("time", time.as_str()));
    }
    w.write_event(Event::Start(t))?;
    match &case.status {
        TestCaseStatus::Success { flaky_runs } => {
            for r in flaky_runs {
                xml_rerun(w, FlakyOrRerun::Flaky, r)?;
            }
        }
        TestCaseStatus::NonSuccess {
            kind,
            message,
            ty,
            description,
            reruns,
        } => {
            let tag = match kind {
                NonSuccessKind::Failure => "failure",
                NonSuccessKind::Error => "error",
            };
            xml_outcome(w, tag, ty.as_ref(), message.as_ref(), description.as_ref())?;
            for r in &reruns.runs {
                xml_rerun(w, reruns.kind, r)?;
            }
        }
        TestCaseStatus::Skipped {
            message,
            ty,
            description,
        } => xml_outcome(
            w,
            "skipped",
            ty.as_ref(),
            message.as_ref(),
            description.as_ref(),
        )?,
    }
    if let Some(o) = &case.system_out {
        xml_text(w, "system-out", o.as_str())?;
    }
    if let Some(e) = &case.system_err {
        xml_text(w, "system-err", e.as_str())?;
    }
    w.write_event(Event::End(BytesEnd::new("testcase")))
}

fn duration(secs: f64) -> Duration {
    Duration::try_from_secs_f64(secs).unwrap_or_default()
}

fn timestamp(unix: f64) -> Option<DateTime<FixedOffset>> {
    if !unix.is_finite() {
        return None;
    }
    DateTime::from_timestamp_micros((unix * 1e6).round() as i64).map(|t| t.fixed_offset())
}
