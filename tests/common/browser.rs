//! A page opened in a real headless browser, and the folders the tests
//! write pages to.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A folder of the test's own, removed at the end.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("backfill-{what}-{}-{}", std::process::id(), uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The names a headless Chromium goes by on PATH: Debian's, Ubuntu's, and
/// Google Chrome's, which GitHub's runners have instead.
const BROWSERS: [&str; 4] = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/// The browser named by `BACKFILL_TEST_BROWSER` (a name on PATH or a path),
/// else the first of `BROWSERS` on PATH, or none: then the caller skips,
/// except in CI, where one must be there (scripts/test.sh installs Chromium).
pub fn browser() -> Option<PathBuf> {
    if let Some(named) = std::env::var_os("BACKFILL_TEST_BROWSER").filter(|n| !n.is_empty()) {
        let found = executable(Path::new(&named));
        return Some(found.unwrap_or_else(|| panic!("BACKFILL_TEST_BROWSER={} is not an executable", named.display())));
    }
    if let Some(found) = BROWSERS.iter().find_map(|name| executable(Path::new(name))) {
        return Some(found);
    }
    let wanted = format!("none of {} is on PATH", BROWSERS.join(", "));
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "CI needs a browser, but {wanted}: scripts/test.sh installs chromium"
    );
    eprintln!("skipped: {wanted} (scripts/test.sh installs chromium, or set BACKFILL_TEST_BROWSER)");
    None
}

/// `program` as a shell finds it: a path as it is, a bare name on PATH.
fn executable(program: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let runnable = |path: &Path| path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if program.components().count() > 1 {
        return runnable(program).then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| runnable(candidate))
}

/// The page as the browser built it, and what it logged on stderr.
pub async fn open_in_browser(browser: &Path, page: &Path) -> (String, String) {
    let profile = TempDir::new("browser-profile");
    let mut cmd = tokio::process::Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        &format!("--user-data-dir={}", profile.0.display()),
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        &format!("file://{}", page.display()),
    ])
    .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(90), cmd.output())
        .await
        .expect("the browser finished within 90 s")
        .expect("the browser starts");
    assert!(out.status.success(), "{} failed: {}", browser.display(), String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stdout).to_string(), String::from_utf8_lossy(&out.stderr).to_string())
}

pub fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains("CONSOLE")).collect()
}

/// How the browser serializes text: `&`, `<` and `>` escaped.
pub fn as_dom_text(s: &str) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    flat.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
