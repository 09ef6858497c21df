//! Each way GitHub fails arrives as the right kind of `GithubError`.

use std::time::Duration;

use backfill::github::retry::RetryPolicy;
use backfill::github::{lookup_repository, ClientSettings, GithubClient, GithubError};
use fake_github::{FakeGithub, Fault, RepoSpec, World};

fn kind(e: &GithubError) -> String {
    match e {
        GithubError::RateLimited { reset_at } => format!("RateLimited(reset known: {})", reset_at.is_some()),
        GithubError::ReserveHeld { reserve, .. } => format!("ReserveHeld({reserve})"),
        GithubError::SecondaryLimit { retry_after, .. } => format!("SecondaryLimit({retry_after:?})"),
        GithubError::Timeout(_) => "Timeout".into(),
        GithubError::Hiccup(_) => "Hiccup".into(),
        GithubError::RepeatedHiccup(_) => "RepeatedHiccup".into(),
        GithubError::NotInstalled { .. } => "NotInstalled".into(),
        GithubError::ServerError(_) => "ServerError".into(),
        GithubError::NotFound(_) => "NotFound".into(),
        GithubError::Forbidden(_) => "Forbidden".into(),
        GithubError::BadCredentials(_) => "BadCredentials".into(),
        GithubError::AppRejected { .. } => "AppRejected".into(),
        GithubError::TooLarge(_) => "TooLarge".into(),
        GithubError::Unreachable(_) => "Unreachable".into(),
        GithubError::ResourceLimits(_) => "ResourceLimits".into(),
        GithubError::WrongEndpoint => "WrongEndpoint".into(),
        GithubError::Other(m) => format!("Other({m})"),
    }
}

/// A client that says what went wrong at once, without retrying.
fn no_retries(url: &str, token: &str) -> GithubClient {
    GithubClient::new(url, token, no_retries_settings()).expect("client")
}

fn no_retries_settings() -> ClientSettings {
    ClientSettings {
        request_interval: Duration::ZERO,
        retry: RetryPolicy { max_retries: 0, ..RetryPolicy::default() },
        deadline: None,
        ..ClientSettings::default()
    }
}

#[tokio::test]
async fn failures_are_classified_by_kind() {
    let fake = FakeGithub::start(World::new(&[RepoSpec::new("acme", "widgets", 5)])).await.expect("fake starts");
    fake.with_control(|c| c.token = Some("right".into()));
    let client = no_retries(&fake.graphql_url(), "right");
    // GitHub gives a query 10 s: a 502 or 504 that comes back at once is the
    // gateway's hiccup, not a timeout.
    let cases: Vec<(Option<Fault>, &str, &str)> = vec![
        (Some(Fault::BadGateway), "widgets", "Hiccup"),
        (Some(Fault::BadGatewayHtml), "widgets", "Hiccup"),
        (Some(Fault::GatewayTimeout), "widgets", "Hiccup"),
        (Some(Fault::SecondaryLimit { retry_after: Some(30) }), "widgets", "SecondaryLimit(Some(30s))"),
        (Some(Fault::SecondaryLimit { retry_after: None }), "widgets", "SecondaryLimit(None)"),
        (Some(Fault::Truncated), "widgets", "ServerError"),
        (Some(Fault::Unauthorized), "widgets", "BadCredentials"),
        (None, "missing", "NotFound"),
    ];
    for (fault, repo, want) in cases {
        if let Some(f) = fault.clone() {
            fake.with_control(|c| c.faults.push_back(f));
        }
        let got = lookup_repository(&client, "acme", repo).await.map(|r| r.full_name).map_err(|e| kind(&e));
        assert_eq!(got, Err(want.to_string()), "{fault:?}");
    }
    // One that takes GitHub's whole query time (the fake's, here) is a timeout.
    fake.with_control(|c| {
        c.timeout_delay = Duration::from_millis(400);
        c.faults.push_back(Fault::SlowTimeout);
    });
    let patient = GithubClient::new(
        &fake.graphql_url(),
        "right",
        ClientSettings { github_timeout: Duration::from_millis(400), ..no_retries_settings() },
    )
    .expect("client");
    let got = lookup_repository(&patient, "acme", "widgets").await.map(|_| ()).map_err(|e| kind(&e));
    assert_eq!(got, Err("Timeout".to_string()), "a 502 after GitHub's query time");
    // The answer after the faults is whole again.
    let ok = lookup_repository(&client, "acme", "widgets").await.map(|r| (r.full_name, r.pull_request_count));
    assert_eq!(ok.map_err(|e| kind(&e)), Ok(("acme/widgets".to_string(), 5)));

    // An exhausted budget: HTTP 200 with errors[].type RATE_LIMITED and the reset time.
    fake.with_control(|c| c.budget = fake_github::world::Budget::new(1, Duration::from_secs(600)));
    assert!(lookup_repository(&client, "acme", "widgets").await.is_ok());
    let sent = fake.requests().len();
    let spent = lookup_repository(&client, "acme", "widgets").await.map(|_| ()).map_err(|e| kind(&e));
    assert_eq!(spent, Err("RateLimited(reset known: true)".to_string()));
    assert_eq!(fake.requests().len(), sent, "a budget known to be spent is not asked again");

    // A wrong token, and nobody listening.
    let wrong = no_retries(&fake.graphql_url(), "wrong");
    let got = lookup_repository(&wrong, "acme", "widgets").await.map(|_| ()).map_err(|e| kind(&e));
    assert_eq!(got, Err("BadCredentials".to_string()));
    let url = fake.graphql_url();
    drop(fake);
    // The listener closes once its task is cancelled: poll until it has.
    let gone = no_retries(&url, "right");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let got = loop {
        let got = lookup_repository(&gone, "acme", "widgets").await.map(|_| ()).map_err(|e| kind(&e));
        if got.is_err() || std::time::Instant::now() > deadline {
            break got;
        }
    };
    assert_eq!(got, Err("Unreachable".to_string()));
}

#[tokio::test]
async fn transient_failures_are_retried_and_retry_after_is_honoured() {
    let fake = FakeGithub::start(World::new(&[RepoSpec::new("acme", "widgets", 5)])).await.expect("fake starts");
    let settings = ClientSettings {
        request_interval: Duration::ZERO,
        retry: RetryPolicy { max_retries: 4, base: Duration::from_millis(5), ..RetryPolicy::default() },
        deadline: None,
        ..ClientSettings::default()
    };
    let client = GithubClient::new(&fake.graphql_url(), "any", settings).expect("client");
    let faults =
        [Fault::BadGateway, Fault::Truncated, Fault::SecondaryLimit { retry_after: Some(1) }, Fault::BadGatewayHtml];
    fake.with_control(|c| c.faults.extend(faults));
    let got = lookup_repository(&client, "acme", "widgets").await.map(|r| r.full_name).map_err(|e| kind(&e));
    assert_eq!(got, Ok("acme/widgets".to_string()));
    let log = fake.requests();
    assert_eq!(log.len(), 5, "four failures, then the answer");
    let limited = &log[2];
    assert!(log[3].received >= limited.at + chrono::Duration::seconds(1), "the retry waited out retry-after");

    // One more failure than retries allowed: the error comes back (504s at
    // once, again and again: the gateway's, and no smaller query to ask).
    fake.with_control(|c| c.faults.extend(std::iter::repeat_n(Fault::GatewayTimeout, 5)));
    let got = lookup_repository(&client, "acme", "widgets").await.map(|_| ()).map_err(|e| kind(&e));
    assert_eq!(got, Err("RepeatedHiccup".to_string()));
    assert_eq!(fake.requests().len(), 10, "one attempt and four retries");
}
