//! The dashboard in a real browser: Debian's `chromium`, headless, opens the
//! page of a generated history from `file://` (nothing else is reachable: a
//! proxy that answers nothing and a resolver that finds nothing), dumps the
//! DOM and takes a screenshot, with JavaScript on and off. The regressions
//! table lists exactly the planted regressions, the matrix has one cell per
//! test and run, and the filter works with script and is hidden without.
//! `.ci/run` installs chromium.
//!
//! JavaScript is turned off the way a user does: the profile's content
//! setting blocks it (`--blink-settings=scriptEnabled=false` also stops the
//! script that `--dump-dom` itself runs, which then dumps nothing, and
//! `--disable-javascript` is no longer a Chromium switch).

mod history_gen;

use regex::Regex;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        let found = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        });
        if let Some(p) = found {
            return p;
        }
    }
    panic!("this test needs Debian's chromium (apt-get install chromium; .ci/run installs it)");
}

/// Run chromium headless on `url` with `extra` flags, with the page's
/// JavaScript on or off; its stdout.
fn browse(url: &str, script: bool, extra: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    if !script {
        // Chromium's content setting: 2 blocks JavaScript.
        std::fs::create_dir_all(profile.path().join("Default")).unwrap();
        std::fs::write(
            profile.path().join("Default/Preferences"),
            r#"{"profile":{"default_content_setting_values":{"javascript":2}}}"#,
        )
        .unwrap();
    }
    let out = Command::new("timeout")
        .arg("120")
        .arg(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--proxy-server=127.0.0.1:9",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium starts");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !extra.contains(&"--dump-dom") || stdout.contains("</html>"),
        "chromium dumped no page for {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The part of `dom` from the element with this id to the end of its table.
fn table<'a>(dom: &'a str, id: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the DOM: {}", &dom[..dom.len().min(2000)]));
    let end = dom[start..].find("</table>").expect("the table ends") + start;
    &dom[start..end]
}

/// The `<tr ...>` start tags of a table's body.
fn body_rows(table: &str) -> Vec<&str> {
    let body = &table[table.find("<tbody>").expect("a tbody")..];
    let re = Regex::new(r"<tr[^>]*>").unwrap();
    re.find_iter(body).map(|m| m.as_str()).collect()
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let re = Regex::new(&format!(r#"\s{name}="([^"]*)""#)).unwrap();
    re.captures(tag).map(|c| c.get(1).unwrap().as_str())
}

struct Page {
    _dir: tempfile::TempDir,
    path: PathBuf,
    planted: history_gen::Planted,
}

fn page() -> Page {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    let planted = history_gen::generate(&history, 40, 99);
    let path = dir.path().join("site/index.html");
    let out = Command::new(env!("CARGO_BIN_EXE_netdrill"))
        .args(["report"])
        .arg(&history)
        .arg("--html")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "regressions: exit 1; {out:?}");
    Page {
        _dir: dir,
        path,
        planted,
    }
}

fn url(path: &Path, query: &str) -> String {
    format!("file://{}{query}", path.display())
}

/// What every load of the page must show, script or not.
fn check_tables(dom: &str, planted: &history_gen::Planted) {
    let regressions: BTreeSet<String> = body_rows(table(dom, "regressions-table"))
        .iter()
        .map(|tr| {
            attr(tr, "data-test")
                .expect("a row names its test")
                .to_string()
        })
        .collect();
    assert_eq!(regressions, planted.regression_names());

    let matrix = table(dom, "matrix-table");
    let runs = Regex::new(r#"<th class="run""#)
        .unwrap()
        .find_iter(matrix)
        .count();
    assert_eq!(runs, 30, "the window's runs head the matrix");
    let rows = body_rows(matrix);
    assert_eq!(rows.len(), planted.tests, "one row per test");
    let cells = Regex::new(r##"<td class="c-[a-z-]+"><a href="#run-[^"]+">[^<]</a></td>"##)
        .unwrap()
        .find_iter(matrix)
        .count();
    assert_eq!(cells, planted.tests * runs, "one cell per test and run");
    // Every cell's link leads somewhere on the page.
    let ids: BTreeSet<&str> = Regex::new(r#"\sid="([^"]+)""#)
        .unwrap()
        .captures_iter(dom)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    let targets: BTreeSet<&str> = Regex::new(r##"href="#([^"]+)""##)
        .unwrap()
        .captures_iter(matrix)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    let missing: Vec<_> = targets.difference(&ids).collect();
    assert!(missing.is_empty(), "links to nothing: {missing:?}");
}

#[test]
fn the_page_in_chromium_with_and_without_javascript() {
    let p = page();
    let html = std::fs::read_to_string(&p.path).unwrap();
    // Self-contained: nothing to fetch.
    for needle in ["<link", " src=", "https://", "@import", "url("] {
        assert!(
            !html.contains(needle),
            "the page fetches something: {needle}"
        );
    }
    let http: Vec<&str> = Regex::new(r#"http://[^"\s<]*"#)
        .unwrap()
        .find_iter(&html)
        .map(|m| m.as_str())
        .filter(|u| *u != "http://www.w3.org/2000/svg")
        .collect();
    assert!(http.is_empty(), "{http:?}");

    // With JavaScript: the tables, and the filter shown and working.
    let dom = browse(&url(&p.path, ""), true, &["--dump-dom"]);
    check_tables(&dom, &p.planted);
    let form = Regex::new(r#"<form id="filter"[^>]*>"#)
        .unwrap()
        .find(&dom)
        .expect("the filter form")
        .as_str();
    assert!(!form.contains("hidden"), "script shows the filter: {form}");
    assert!(dom.contains(&format!("{} tests in the matrix", p.planted.tests)));

    // Filtered by result from the address: only the matrix rows with a timeout.
    let dom = browse(&url(&p.path, "?result=timeout"), true, &["--dump-dom"]);
    let rows = body_rows(table(&dom, "matrix-table"));
    let shown: Vec<&&str> = rows.iter().filter(|tr| !tr.contains("hidden")).collect();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(attr(shown[0], "data-results").unwrap().contains("timeout"));
    assert!(dom.contains("1 tests in the matrix"));

    // Without JavaScript: the same tables, every row shown, the filter hidden.
    let dom = browse(&url(&p.path, "?result=timeout"), false, &["--dump-dom"]);
    check_tables(&dom, &p.planted);
    let form = Regex::new(r#"<form id="filter"[^>]*>"#)
        .unwrap()
        .find(&dom)
        .unwrap()
        .as_str();
    assert!(form.contains("hidden"), "no script, no filter: {form}");
    let rows = body_rows(table(&dom, "matrix-table"));
    assert!(rows.iter().all(|tr| !tr.contains("hidden")));

    // Screenshots, both ways: a real picture of the page.
    for script in [true, false] {
        let shot = p.path.with_file_name("shot.png");
        let _ = std::fs::remove_file(&shot);
        let flags = [
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,1600".to_string(),
        ];
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        browse(&url(&p.path, ""), script, &flags);
        let png = std::fs::read(&shot).expect("a screenshot");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        // 1280 x 1600, from the PNG header.
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((width, height), (1280, 1600));
        assert!(
            png.len() > 50_000,
            "a page with tables, not a blank: {} bytes",
            png.len()
        );
    }
}
