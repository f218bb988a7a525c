//! The fake Gist API behaves like GitHub's for the endpoints we use.

use std::time::Duration;

use chronicle_gist_testkit::fake_github::{FakeGithub, Scripted};
use serde_json::Value;

/// A raw HTTP call, to look at status, headers and body as GitHub sends them.
fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, Vec<(String, String)>, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = ureq::http::Request::builder().method(method).uri(url);
    if let Some(token) = token {
        request = request.header("Authorization", format!("token {token}"));
    }
    let mut response = match body {
        Some(body) => agent.run(request.body(body.to_string()).unwrap()).unwrap(),
        None => agent.run(request.body(()).unwrap()).unwrap(),
    };
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap().to_string(),
            )
        })
        .collect();
    let text = response.body_mut().read_to_string().unwrap();
    (
        response.status().as_u16(),
        headers,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn get_returns_files_history_and_rate_limit_headers() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("a.json", "{\"a\": 1}"), ("notes.md", "# hi")]);
    github.commit(&gist, &[("a.json", Some("{\"a\": 2}"))]);
    let url = format!("{}/gists/{gist}", github.url());

    let (status, headers, body) = call("GET", &url, Some(FakeGithub::TOKEN), None);

    assert_eq!(status, 200);
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-used",
    ] {
        assert!(header(&headers, name).is_some(), "{name} missing");
    }
    assert_eq!(body["id"], Value::String(gist.clone()));
    let file = &body["files"]["a.json"];
    assert_eq!(file["filename"], "a.json");
    assert_eq!(file["type"], "application/json");
    assert_eq!(file["language"], "JSON");
    assert_eq!(file["content"], "{\"a\": 2}");
    assert_eq!(file["size"].as_u64(), Some(8));
    assert_eq!(file["truncated"], false);
    assert!(file["raw_url"].as_str().unwrap().starts_with(github.url()));
    assert_eq!(body["files"]["notes.md"]["language"], "Markdown");
    // History is newest first, each entry with version, time, status, url.
    let history = body["history"].as_array().unwrap();
    let revisions = github.revisions(&gist);
    assert_eq!(history.len(), 2);
    assert_eq!(
        history[0]["version"],
        Value::String(revisions[1].version.clone())
    );
    assert_eq!(
        history[1]["version"],
        Value::String(revisions[0].version.clone())
    );
    assert_eq!(history[0]["change_status"]["additions"].as_u64(), Some(1));
    assert_eq!(history[0]["change_status"]["deletions"].as_u64(), Some(1));
    assert!(history[0]["committed_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["updated_at"], history[0]["committed_at"]);
}

#[test]
fn patch_creates_a_revision_only_when_something_changed() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("a.json", "1"), ("b.json", "2")]);
    let url = format!("{}/gists/{gist}", github.url());

    let (status, _, body) = call(
        "PATCH",
        &url,
        Some(FakeGithub::TOKEN),
        Some(r#"{"files": {"a.json": {"content": "3"}, "b.json": null}}"#),
    );
    assert_eq!(status, 200);
    let revisions = github.revisions(&gist);
    assert_eq!(revisions.len(), 2);
    assert_eq!(
        body["history"][0]["version"],
        Value::String(revisions[1].version.clone())
    );
    assert_eq!(body["files"]["a.json"]["content"], "3");
    assert!(body["files"].get("b.json").is_none());

    // The same content again: no new revision, history[0] is unchanged.
    let (status, _, body) = call(
        "PATCH",
        &url,
        Some(FakeGithub::TOKEN),
        Some(r#"{"files": {"a.json": {"content": "3"}}}"#),
    );
    assert_eq!(status, 200);
    assert_eq!(github.revisions(&gist).len(), 2);
    assert_eq!(
        body["history"][0]["version"],
        Value::String(revisions[1].version.clone())
    );

    // A revision can be read back by sha.
    let (status, _, old) = call(
        "GET",
        &format!("{url}/{}", revisions[0].version),
        Some(FakeGithub::TOKEN),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(old["files"]["b.json"]["content"], "2");
    assert_eq!(old["history"].as_array().unwrap().len(), 1);
}

#[test]
fn validation_errors_have_githubs_shape() {
    let github = FakeGithub::start();
    github.set_max_file_size(10);
    let gist = github.create_gist(&[("a.json", "1")]);
    let url = format!("{}/gists/{gist}", github.url());

    for body in [
        r#"{"files": {"dir/a.json": {"content": "1"}}}"#,
        r#"{"files": {"a.json": {"content": "12345678901"}}}"#,
        r#"{"files": {"a.json": null}}"#,
    ] {
        let (status, _, answer) = call("PATCH", &url, Some(FakeGithub::TOKEN), Some(body));
        assert_eq!(status, 422, "{body}");
        assert_eq!(answer["message"], "Validation Failed");
        assert!(answer["errors"].as_array().is_some_and(|e| !e.is_empty()));
        assert!(answer["documentation_url"].is_string());
    }
    let (status, _, answer) = call("PATCH", &url, Some(FakeGithub::TOKEN), Some("not json"));
    assert_eq!(status, 400);
    assert_eq!(answer["message"], "Problems parsing JSON");
    assert_eq!(
        github.revisions(&gist).len(),
        1,
        "refused PATCHes change nothing"
    );
}

#[test]
fn authentication_and_unknown_gists() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("a.json", "1")]);
    let url = format!("{}/gists/{gist}", github.url());

    let (status, headers, body) = call("GET", &url, Some("wrong"), None);
    assert_eq!(status, 401);
    assert_eq!(body["message"], "Bad credentials");
    assert!(header(&headers, "x-ratelimit-limit").is_some());

    let (status, _, body) = call("PATCH", &url, None, Some(r#"{"files": {}}"#));
    assert_eq!(status, 401);
    assert_eq!(body["message"], "Requires authentication");

    // Reading a gist without a token works, as for public gists.
    assert_eq!(call("GET", &url, None, None).0, 200);

    let (status, _, body) = call(
        "GET",
        &format!("{}/gists/nope", github.url()),
        Some(FakeGithub::TOKEN),
        None,
    );
    assert_eq!(status, 404);
    assert_eq!(body["message"], "Not Found");
}

#[test]
fn commits_are_paginated_with_link_headers() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("a.json", "0")]);
    for n in 1..5 {
        github.commit(&gist, &[("a.json", Some(&n.to_string()))]);
    }
    let url = format!("{}/gists/{gist}/commits?per_page=2", github.url());

    let (status, headers, page1) = call("GET", &url, Some(FakeGithub::TOKEN), None);
    assert_eq!(status, 200);
    assert_eq!(page1.as_array().unwrap().len(), 2);
    let link = header(&headers, "link").unwrap();
    assert!(link.contains("page=2>; rel=\"next\""), "{link}");
    assert!(link.contains("page=3>; rel=\"last\""), "{link}");
    let revisions = github.revisions(&gist);
    assert_eq!(
        page1[0]["version"],
        Value::String(revisions[4].version.clone())
    );
    assert!(page1[0]["url"]
        .as_str()
        .unwrap()
        .ends_with(&revisions[4].version));
    assert!(page1[0]["change_status"]["total"].is_u64());

    let next = chronicle_gist::github::next_link(link).unwrap();
    let (_, _, page2) = call("GET", &next, Some(FakeGithub::TOKEN), None);
    assert_eq!(
        page2[0]["version"],
        Value::String(revisions[2].version.clone())
    );
    let (_, headers, page3) = call(
        "GET",
        &format!("{url}&page=3"),
        Some(FakeGithub::TOKEN),
        None,
    );
    assert_eq!(page3.as_array().unwrap().len(), 1);
    let link = header(&headers, "link").unwrap();
    assert!(!link.contains("rel=\"next\""), "{link}");
    assert!(link.contains("rel=\"prev\""), "{link}");
}

#[test]
fn large_content_is_truncated_and_served_in_full_at_raw_url() {
    let github = FakeGithub::start();
    github.set_truncate_above(16);
    let content = "é".repeat(20); // 40 bytes, cut on a character boundary
    let gist = github.create_gist(&[("big.txt", &content)]);

    let (_, _, body) = call("GET", &format!("{}/gists/{gist}", github.url()), None, None);
    let file = &body["files"]["big.txt"];
    assert_eq!(file["truncated"], true);
    assert_eq!(file["content"], "é".repeat(8));
    assert_eq!(file["size"].as_u64(), Some(40));

    let (status, headers, raw) = call("GET", file["raw_url"].as_str().unwrap(), None, None);
    assert_eq!(status, 200);
    assert_eq!(raw, Value::String(content));
    assert!(
        header(&headers, "x-ratelimit-limit").is_none(),
        "raw host is not the API"
    );
}

#[test]
fn only_the_first_300_files_are_listed() {
    let github = FakeGithub::start();
    let names: Vec<String> = (0..302).map(|i| format!("f{i:03}.json")).collect();
    let files: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "{}")).collect();
    let gist = github.create_gist(&files);

    let (_, _, body) = call("GET", &format!("{}/gists/{gist}", github.url()), None, None);

    assert_eq!(body["truncated"], true);
    let listed = body["files"].as_object().unwrap();
    assert_eq!(listed.len(), 300);
    assert!(listed.contains_key("f299.json") && !listed.contains_key("f300.json"));
    github.set_max_listed_files(400);
    let (_, _, body) = call("GET", &format!("{}/gists/{gist}", github.url()), None, None);
    assert_eq!(body["truncated"], false);
    assert_eq!(body["files"].as_object().unwrap().len(), 302);
}

#[test]
fn post_creates_a_gist() {
    let github = FakeGithub::start();
    let (status, headers, body) = call(
        "POST",
        &format!("{}/gists", github.url()),
        Some(FakeGithub::TOKEN),
        Some(r#"{"description": "d", "public": false, "files": {"x.json": {"content": "{}"}}}"#),
    );
    assert_eq!(status, 201);
    let id = body["id"].as_str().unwrap();
    assert!(header(&headers, "location").unwrap().ends_with(id));
    assert_eq!(github.file(id, "x.json").as_deref(), Some("{}"));
}

#[test]
fn primary_and_scripted_rate_limits() {
    let github = FakeGithub::start();
    let gist = github.create_gist(&[("a.json", "1")]);
    let url = format!("{}/gists/{gist}", github.url());
    github.set_rate_limit(10, 1, Duration::from_secs(60));

    let (status, headers, _) = call("GET", &url, Some(FakeGithub::TOKEN), None);
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "x-ratelimit-remaining"), Some("0"));
    let (status, headers, body) = call("GET", &url, Some(FakeGithub::TOKEN), None);
    assert_eq!(status, 403);
    assert_eq!(header(&headers, "x-ratelimit-remaining"), Some("0"));
    assert_eq!(
        header(&headers, "x-ratelimit-reset"),
        Some(github.rate_limit_reset().to_string().as_str())
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .starts_with("API rate limit exceeded"));

    github.set_rate_limit(10, 10, Duration::from_secs(60));
    github.script(
        Some("PATCH"),
        1,
        Scripted::RateLimited {
            status: 429,
            retry_after: Some(3),
        },
    );
    github.script(
        None,
        1,
        Scripted::Status {
            status: 502,
            message: "Bad Gateway".into(),
        },
    );
    let (status, headers, _) = call(
        "PATCH",
        &url,
        Some(FakeGithub::TOKEN),
        Some(r#"{"files": {}}"#),
    );
    assert_eq!(status, 429);
    assert_eq!(header(&headers, "retry-after"), Some("3"));
    // The scripted PATCH failure does not touch GETs; the "any method" one does.
    let (status, _, body) = call("GET", &url, Some(FakeGithub::TOKEN), None);
    assert_eq!(status, 502);
    assert_eq!(body["message"], "Bad Gateway");
    assert_eq!(call("GET", &url, Some(FakeGithub::TOKEN), None).0, 200);
    assert_eq!(github.patch_count(&gist), 1);
    assert!(github.successful_patches(&gist).is_empty());
}
