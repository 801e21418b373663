//! The closest call of a real run (issue 14, "Timing slack"): a script whose
//! event lands near the edge of its tolerance window is reported at the end
//! of the run, in `--json-full` (`timing_slack` per attempt) and as JUnit
//! properties; one with room to spare is not.
//!
//! `near.pkt`'s second command is due at 0.100 s with a tolerance of 100 ms,
//! but the first one sleeps until 0.175 s: it starts at 0.175 s plus the
//! time to start `sleep`, between 75 and 100 ms late, so its margin is under
//! 25 ms (a quarter of the tolerance) and it passes unless starting `sleep`
//! takes more than 25 ms. `roomy.pkt`'s is due when it starts.

mod common;

use common::*;

const NEAR: &str = "--tolerance_usecs=100000\n0 `sleep 0.175`\n0.100 `true`\n";
const ROOMY: &str = "--tolerance_usecs=100000\n0 `true`\n0.100 `true`\n";

#[test]
fn a_script_whose_event_lands_near_its_edge_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("slack");
    write(&dir, "near.pkt", NEAR);
    write(&dir, "roomy.pkt", ROOMY);
    let json_path = tmp.path().join("r.json");
    let junit_path = tmp.path().join("r.xml");
    let args = [
        "run",
        "--no-progress",
        "--ip-versions",
        "ipv4",
        "--retries",
        "0",
        dir.to_str().unwrap(),
        "--json",
        json_path.to_str().unwrap(),
        "--json-full",
        "--junit",
        junit_path.to_str().unwrap(),
    ];
    let out = netdrill(&args, &new_tag("slack"), tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");

    // The end of the run names the close call, on its line, and only it.
    let close = stdout
        .split_once("\nClose calls (a timed event within 25% of its tolerance's edge):\n")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no close calls in:\n{stdout}"));
    let first = close.lines().next().unwrap();
    assert!(
        first.starts_with("  near.pkt:3 (ipv4): ") && first.ends_with(" ms of 100.000 ms left"),
        "{stdout}"
    );
    assert!(!close.contains("roomy.pkt"), "{stdout}");

    // --json-full: each attempt's timing_slack, exactly this shape.
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let slack_of = |script: &str| {
        let test = doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| {
                t["test"]
                    .as_str()
                    .unwrap()
                    .contains(&script.replace('.', "-"))
            })
            .unwrap_or_else(|| panic!("{script} in {doc}"));
        test["results"][0]["netdrill"]["attempts"][0]["timing_slack"].clone()
    };
    let near = slack_of("near.pkt");
    let keys: Vec<&String> = near.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["line", "margin_usecs", "tolerance_usecs"], "{near}");
    assert_eq!(near["line"], 3, "{near}");
    assert_eq!(near["tolerance_usecs"], 100_000, "{near}");
    let margin = near["margin_usecs"].as_i64().unwrap();
    assert!((0..25_000).contains(&margin), "{near}");
    let roomy = slack_of("roomy.pkt");
    assert_eq!(roomy["line"], 3, "{roomy}");
    assert!(roomy["margin_usecs"].as_i64().unwrap() >= 25_000, "{roomy}");

    // JUnit: the closest call as properties of the test case.
    let xml = std::fs::read_to_string(&junit_path).unwrap();
    assert!(
        xml.contains(r#"<property name="timing_slack_line" value="3"/>"#),
        "{xml}"
    );
    assert!(
        xml.contains(&format!(
            r#"<property name="timing_slack_margin_usecs" value="{margin}"/>"#
        )),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<property name="timing_slack_tolerance_usecs" value="100000"/>"#),
        "{xml}"
    );
}
