//! The server-rendered pages in a real browser (headless Chromium through
//! chromedriver): phone and desk widths, screenshots, accessibility (axe-core).

mod common;

#[path = "web/http.rs"]
mod http;

use std::path::PathBuf;

use common::browser::{describe_violations, Browser};
use serde_json::Value;

/// Where screenshots go: `<target>/browser-screenshots/`.
fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("browser-screenshots")
}

/// The harness itself: a page the service serves, at a phone's width then a desk's,
/// a full-page screenshot, and axe-core's answer.
#[tokio::test]
async fn browser_harness_smoke() {
    let app = common::spawn_app().await;
    let browser = Browser::start().await;

    browser.viewport(360, 800).await;
    browser
        .goto(&format!("{}/rsvp/not-a-valid-token", app.base))
        .await;
    assert_eq!(browser.path().await, "/rsvp/not-a-valid-token");
    let width = browser.execute("return window.innerWidth;", vec![]).await;
    assert_eq!(width, 360, "the phone viewport is exactly 360 px wide");
    assert!(
        !browser.text().await.trim().is_empty(),
        "the page says something"
    );

    browser.viewport(1280, 900).await;
    let width = browser.execute("return window.innerWidth;", vec![]).await;
    assert_eq!(width, 1280, "the desk viewport is exactly 1280 px wide");

    let file = screenshots().join("smoke-rsvp-invalid.png");
    let png = browser.screenshot(&file).await;
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(file.is_file());

    let violations = browser.axe().await;
    let as_json = Value::Array(violations.clone());
    assert!(as_json.is_array());
    assert!(
        violations.iter().all(|v| v["id"] != "axe-error"),
        "axe-core itself failed: {violations:?}"
    );
    println!(
        "axe-core on the invalid RSVP link page: {} violation(s)\n{}",
        violations.len(),
        describe_violations(&violations)
    );

    // The form helpers, on a page of the test's own: text, date and select fields, a
    // button found by its words.
    let form = "<!DOCTYPE html><html lang='fr'><title>Form</title><main>\
        <form onsubmit=\"event.preventDefault(); document.querySelector('output').value = \
          [...new FormData(this).values()].join('|')\">\
        <label>Nom <input name='name' value='old'></label>\
        <label>Date <input type='date' name='day'></label>\
        <label>Sport <select name='sport'><option>Football</option><option>Boxe</option></select></label>\
        <button type='submit'> Enregistrer l'inscription </button></form>\
        <output></output></main></html>";
    browser
        .goto(&format!("data:text/html,{}", form.replace(' ', "%20")))
        .await;
    browser.fill("name", "Awa Diallo").await;
    browser.fill("day", "2026-03-10").await;
    browser.fill("sport", "Boxe").await;
    browser.click_button("Enregistrer l'inscription").await;
    assert_eq!(
        browser.find("output").await.text().await.unwrap(),
        "Awa Diallo|2026-03-10|Boxe"
    );

    browser.close().await;
    app.stop().await;
}
