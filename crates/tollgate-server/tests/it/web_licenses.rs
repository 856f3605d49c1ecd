//! The license pages: generate, list (filter, search by key and note, cursor pages), one
//! license's page and every action on it, and the CSV export.

use serde_json::{json, Value};

use crate::harness::{SellerLogin, TestServer};
use crate::web::{Page, Web};

async fn admin_licenses(srv: &TestServer, seller: &SellerLogin, app_id: &str, query: &str) -> Value {
    let r = srv.get(&format!("/v1/admin/apps/{app_id}/licenses?limit=100&{query}"), &seller.token).await;
    r.assert_status(200);
    r.body.clone()
}

async fn license(srv: &TestServer, seller: &SellerLogin, app_id: &str, id: &str) -> Value {
    let r = srv.get(&format!("/v1/admin/apps/{app_id}/licenses/{id}"), &seller.token).await;
    r.assert_status(200);
    r.data().clone()
}

/// Generate through the admin API; the licenses.
async fn generate(srv: &TestServer, seller: &SellerLogin, app_id: &str, body: Value) -> Vec<Value> {
    let r = srv.post(&format!("/v1/admin/apps/{app_id}/licenses"), &seller.token, body).await;
    r.assert_status(201);
    r.data().as_array().unwrap().clone()
}

/// The keys of the list's rows, in order.
fn row_keys(p: &Page) -> Vec<String> {
    p.body.split("<tr data-key=\"").skip(1).map(|s| s.split('"').next().unwrap().to_owned()).collect()
}

fn next_link(p: &Page) -> Option<String> {
    let at = p.body.find("id=\"next-page\" href=\"")?;
    let rest = &p.body[at + "id=\"next-page\" href=\"".len()..];
    Some(rest.split('"').next().unwrap().replace("&amp;", "&").replace("&#38;", "&"))
}

#[tokio::test]
async fn generate_from_the_page_shows_the_new_keys() {
    let srv = TestServer::start().await;
    let (web, seller) = Web::new_seller(&srv).await;
    let id = web.create_app("Keys").await;
    let path = format!("/apps/{id}/licenses");
    let p = web.get(&path).await;
    p.assert_status(200)
        .assert_contains("id=\"generate-form\"")
        .assert_contains("id=\"filter-form\"")
        .assert_contains("id=\"export-csv\"")
        .assert_contains("id=\"licenses\"");
    let p = web
        .post(
            &path,
            &[
                ("count", "3"),
                ("duration", "7d"),
                ("level", "2"),
                ("maxDevices", "4"),
                ("prefix", "vip"),
                ("note", "batch one"),
            ],
        )
        .await;
    p.assert_status(200).assert_contains("3 licenses generated.");
    assert_eq!(p.body.matches("class=\"new-key\"").count(), 3);
    let stored = admin_licenses(&srv, &seller, &id, "").await;
    assert_eq!(stored["pagination"]["total"], 3);
    for l in stored["data"].as_array().unwrap() {
        let key = l["key"].as_str().unwrap();
        assert!(key.starts_with("VIP-"), "{key}");
        p.assert_contains(&format!(">{key}</a>"));
        assert_eq!(
            (l["durationType"].clone(), l["level"].clone(), l["maxDevices"].clone()),
            (json!("7d"), json!(2), json!(4))
        );
        assert_eq!(l["note"], "batch one");
    }
    // Custom durations and a mask.
    web.post(
        &path,
        &[("count", "1"), ("duration", "36h"), ("level", "1"), ("maxDevices", "1"), ("mask", "XXXXX-XXXXX-XXXXX")],
    )
    .await
    .assert_status(200);
    let l = &admin_licenses(&srv, &seller, &id, "").await["data"][0];
    assert_eq!(l["durationType"], "36h");
    assert_eq!(l["key"].as_str().unwrap().len(), 17);
    // The generate audit is written once per request, by the use case.
    let audit = srv.get("/v1/admin/audit?limit=100", &seller.token).await;
    let n = audit.body.to_string().matches("license.generate").count();
    assert_eq!(n, 2, "{}", audit.body);

    // Invalid fields: shown beside the field, what was typed kept, nothing generated.
    let cases: &[(&str, &str, &str)] = &[
        ("count", "0", "count"),
        ("count", "101", "count"),
        ("count", "many", "count"),
        ("duration", "2w", "duration"),
        ("level", "-1", "level"),
        ("maxDevices", "0", "maxDevices"),
        ("prefix", "bad prefix!", "prefix"),
        ("mask", "XX", "mask"),
    ];
    for (field, value, shown) in cases {
        let mut form =
            vec![("count", "2"), ("duration", "30d"), ("level", "1"), ("maxDevices", "1"), ("note", "kept note")];
        form.retain(|(k, _)| k != field);
        form.push((field, value));
        let p = web.post(&path, &form).await;
        p.assert_status(400)
            .assert_contains(&format!("id=\"{shown}-error\""))
            .assert_contains("aria-invalid=\"true\"")
            .assert_contains("value=\"kept note\"");
    }
    assert_eq!(admin_licenses(&srv, &seller, &id, "").await["pagination"]["total"], 4);

    // CSRF and ownership.
    web.post_raw(&path, &[("count", "1"), ("duration", "1d")]).await.assert_status(403);
    let (other, _) = Web::new_seller(&srv).await;
    other.get(&path).await.assert_status(404);
    other.post(&path, &[("count", "1"), ("duration", "1d")]).await.assert_status(404);
    other.get(&format!("{path}.csv")).await.assert_status(404);
    assert_eq!(admin_licenses(&srv, &seller, &id, "").await["pagination"]["total"], 4);
}

#[tokio::test]
async fn list_filters_searches_and_pages_by_cursor() {
    let srv = TestServer::start().await;
    let (web, seller) = Web::new_seller(&srv).await;
    let id = web.create_app("Many").await;
    generate(&srv, &seller, &id, json!({"count": 60, "durationType": "30d", "note": "first lot"})).await;
    generate(&srv, &seller, &id, json!({"count": 60, "durationType": "1d", "note": "second lot"})).await;
    let special =
        generate(&srv, &seller, &id, json!({"count": 1, "durationType": "1d", "note": "Needle in a haystack"})).await;
    let special_key = special[0]["key"].as_str().unwrap().to_owned();
    let special_id = special[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/apps/{id}/licenses");

    // Every license once over the cursor pages, newest first, as the admin API orders them.
    let mut seen = Vec::new();
    let mut url = path.clone();
    let mut pages = 0;
    loop {
        let p = web.get(&url).await;
        p.assert_status(200).assert_contains(">121</span> licenses");
        seen.extend(row_keys(&p));
        pages += 1;
        match next_link(&p) {
            Some(next) => {
                assert!(next.contains("cursor="), "{next}");
                url = next;
            }
            None => break,
        }
    }
    assert!(pages >= 3, "{pages} pages");
    assert_eq!(seen.len(), 121);
    let mut admin = Vec::new();
    for page in 1..=2 {
        let body = admin_licenses(&srv, &seller, &id, &format!("page={page}")).await;
        admin.extend(body["data"].as_array().unwrap().iter().map(|l| l["key"].as_str().unwrap().to_owned()));
    }
    assert_eq!(seen, admin);
    assert_eq!(seen[0], special_key);

    // Search by the whole key (any case): that one license, linking to its page.
    let p = web.get(&format!("{path}?search={}", special_key.to_lowercase())).await;
    assert_eq!(row_keys(&p), vec![special_key.clone()]);
    p.assert_contains(&format!("href=\"/apps/{id}/licenses/{special_id}\">{special_key}</a>"));
    // By the beginning of the note, any case.
    let p = web.get(&format!("{path}?search=NEEDLE")).await;
    assert_eq!(row_keys(&p), vec![special_key.clone()]);
    let p = web.get(&format!("{path}?search=second+lot")).await;
    p.assert_contains(">60</span> licenses");
    assert_eq!(row_keys(&p).len(), 50);
    // By the beginning of a key; the middle of a key or a note finds nothing.
    let p = web.get(&format!("{path}?search={}", &special_key[..9].to_lowercase())).await;
    assert!(row_keys(&p).contains(&special_key));
    let p = web.get(&format!("{path}?search={}", &special_key[5..14])).await;
    p.assert_contains(">0</span> licenses match");
    let p = web.get(&format!("{path}?search=haystack")).await;
    p.assert_contains(">0</span> licenses match");

    // Status filter.
    srv.post(&format!("/v1/admin/apps/{id}/licenses/{special_id}/ban"), &seller.token, json!({"reason": "x"}))
        .await
        .assert_status(200);
    let p = web.get(&format!("{path}?status=BANNED")).await;
    assert_eq!(row_keys(&p), vec![special_key.clone()]);
    p.assert_contains("<span class=\"badge status s-banned\">BANNED</span>")
        .assert_contains("<option value=\"BANNED\" selected>");
    let p = web.get(&format!("{path}?status=UNUSED&search={special_key}")).await;
    assert!(row_keys(&p).is_empty());
    let p = web.get(&format!("{path}?status=unused&search=first")).await;
    p.assert_contains(">60</span> licenses");
    // Bad filters are refused on the page.
    web.get(&format!("{path}?status=NOPE")).await.assert_status(400).assert_contains("id=\"filter-error\"");
    web.get(&format!("{path}?cursor=garbage!")).await.assert_status(400).assert_contains("cursor");
}

#[tokio::test]
async fn every_action_on_the_license_page() {
    let srv = TestServer::start().await;
    let (web, seller) = Web::new_seller(&srv).await;
    let id = web.create_app("Actions").await;
    let l = &generate(&srv, &seller, &id, json!({"count": 1, "durationType": "30d", "note": "orig"})).await[0];
    let lid = l["id"].as_str().unwrap().to_owned();
    let page = format!("/apps/{id}/licenses/{lid}");
    let p = web.get(&page).await;
    p.assert_status(200)
        .assert_contains("id=\"license-status\">UNUSED<")
        .assert_contains(l["key"].as_str().unwrap())
        .assert_contains("id=\"ban-reason\"")
        .assert_contains("id=\"pause\"")
        .assert_contains("id=\"extend-form\"")
        .assert_contains("id=\"reset-devices\"")
        .assert_contains("id=\"delete\"");

    // Every POST needs the CSRF field; another seller gets 404.
    for action in ["ban", "unban", "pause", "unpause", "reset-devices", "delete", "extend", "edit"] {
        web.post_raw(&format!("{page}/{action}"), &[("days", "1"), ("reason", "x")]).await.assert_status(403);
    }
    let (other, _) = Web::new_seller(&srv).await;
    other.get(&page).await.assert_status(404);
    for action in ["ban", "pause", "delete", "extend"] {
        other.post(&format!("{page}/{action}"), &[("days", "1")]).await.assert_status(404);
    }
    assert_eq!(license(&srv, &seller, &id, &lid).await["status"], "UNUSED");
    web.get(&format!("/apps/{id}/licenses/lic_nope")).await.assert_status(404);

    // Ban with a reason, unban.
    web.post(&format!("{page}/ban"), &[("reason", "chargeback")]).await.assert_redirect(&page);
    let got = license(&srv, &seller, &id, &lid).await;
    assert_eq!((got["status"].clone(), got["banReason"].clone()), (json!("BANNED"), json!("chargeback")));
    web.get(&page)
        .await
        .assert_contains("id=\"license-status\">BANNED<")
        .assert_contains("chargeback")
        .assert_contains("id=\"unban\"")
        .assert_contains("License banned.");
    web.post(&format!("{page}/unban"), &[]).await.assert_redirect(&page);
    assert_eq!(license(&srv, &seller, &id, &lid).await["status"], "UNUSED");
    // A reason too long: beside the field, nothing changed.
    let long = "r".repeat(501);
    web.post(&format!("{page}/ban"), &[("reason", &long)])
        .await
        .assert_status(400)
        .assert_contains("id=\"reason-error\"");
    assert_eq!(license(&srv, &seller, &id, &lid).await["status"], "UNUSED");

    // Pause, unpause.
    web.post(&format!("{page}/pause"), &[]).await.assert_redirect(&page);
    assert_eq!(license(&srv, &seller, &id, &lid).await["status"], "PAUSED");
    web.get(&page).await.assert_contains("id=\"license-status\">PAUSED<").assert_contains("id=\"unpause\"");
    web.post(&format!("{page}/unpause"), &[]).await.assert_redirect(&page);
    assert_eq!(license(&srv, &seller, &id, &lid).await["status"], "UNUSED");

    // Extend by days and by a duration (unused: the duration grows).
    web.post(&format!("{page}/extend"), &[("days", "5")]).await.assert_redirect(&page);
    assert_eq!(license(&srv, &seller, &id, &lid).await["durationType"], "35d");
    web.post(&format!("{page}/extend"), &[("days", "24h")]).await.assert_redirect(&page);
    let grown = license(&srv, &seller, &id, &lid).await["durationType"].clone();
    assert_ne!(grown, "35d");
    for bad in ["0", "forever", "99999"] {
        web.post(&format!("{page}/extend"), &[("days", bad)])
            .await
            .assert_status(400)
            .assert_contains("id=\"days-error\"")
            .assert_contains(&format!("value=\"{bad}\""));
    }
    assert_eq!(license(&srv, &seller, &id, &lid).await["durationType"], grown);

    // Edit note, level, max devices; a bad value shown beside its field.
    web.post(&format!("{page}/edit"), &[("note", "new note"), ("level", "3"), ("maxDevices", "2")])
        .await
        .assert_redirect(&page);
    let got = license(&srv, &seller, &id, &lid).await;
    assert_eq!(
        (got["note"].clone(), got["level"].clone(), got["maxDevices"].clone()),
        (json!("new note"), json!(3), json!(2))
    );
    web.post(&format!("{page}/edit"), &[("note", "typed"), ("level", "3"), ("maxDevices", "0")])
        .await
        .assert_status(400)
        .assert_contains("id=\"maxDevices-error\"")
        .assert_contains("value=\"typed\"");
    assert_eq!(license(&srv, &seller, &id, &lid).await["maxDevices"], 2);

    // Reset devices, delete.
    web.post(&format!("{page}/reset-devices"), &[]).await.assert_redirect(&page);
    web.get(&page).await.assert_contains("Devices reset.");
    web.post(&format!("{page}/delete"), &[]).await.assert_redirect(&format!("/apps/{id}/licenses"));
    srv.get(&format!("/v1/admin/apps/{id}/licenses/{lid}"), &seller.token).await.assert_status(404);
    web.get(&page).await.assert_status(404);

    // Lifetime keys cannot be extended: the conflict is an error page, nothing changed.
    let life = &generate(&srv, &seller, &id, json!({"count": 1, "durationType": "lifetime"})).await[0];
    let lpage = format!("/apps/{id}/licenses/{}", life["id"].as_str().unwrap());
    web.post(&format!("{lpage}/extend"), &[("days", "3")]).await.assert_status(409);
}

#[tokio::test]
async fn csv_export_follows_the_filter_with_quoting_and_formula_guard() {
    let srv = TestServer::start().await;
    let (web, seller) = Web::new_seller(&srv).await;
    let id = web.create_app("Export").await;
    generate(&srv, &seller, &id, json!({"count": 3, "durationType": "30d", "note": "=HYPERLINK(\"x\")"})).await;
    generate(&srv, &seller, &id, json!({"count": 2, "durationType": "1d", "note": "plain, with comma"})).await;
    let one = generate(&srv, &seller, &id, json!({"count": 1, "durationType": "1d", "note": "@cmd"})).await;
    let lid = one[0]["id"].as_str().unwrap();
    srv.post(&format!("/v1/admin/apps/{id}/licenses/{lid}/ban"), &seller.token, json!({"reason": "+1 \"bad\""}))
        .await
        .assert_status(200);

    let p = web.get(&format!("/apps/{id}/licenses?status=BANNED&search=cmd")).await;
    p.assert_contains(&format!("href=\"/apps/{id}/licenses.csv?status=BANNED&#38;search=cmd\""));

    let p = web.get(&format!("/apps/{id}/licenses.csv")).await;
    p.assert_status(200);
    assert!(p.headers["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(p.headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let lines: Vec<&str> = p.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 7, "{}", p.body);
    assert!(lines[0].starts_with("key,status,level,duration"));
    assert_eq!(p.body.matches(",\"'=HYPERLINK(\"\"x\"\")\",").count(), 3, "{}", p.body);
    assert_eq!(p.body.matches(",\"plain, with comma\",").count(), 2);
    assert!(p.body.contains(",'@cmd,"), "{}", p.body);
    assert!(p.body.contains("\"'+1 \"\"bad\"\"\""), "{}", p.body);
    assert!(!p.body.contains(",=HYPERLINK"));

    // The filter is respected.
    let p = web.get(&format!("/apps/{id}/licenses.csv?status=BANNED")).await;
    let lines: Vec<&str> = p.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[1].starts_with(one[0]["key"].as_str().unwrap()));
    let p = web.get(&format!("/apps/{id}/licenses.csv?search=PLAIN")).await;
    assert_eq!(p.body.split("\r\n").filter(|l| !l.is_empty()).count(), 3);
    web.get(&format!("/apps/{id}/licenses.csv?status=NOPE")).await.assert_status(400);
}

#[tokio::test]
async fn csv_export_streams_past_one_chunk() {
    let srv = TestServer::start().await;
    let (web, seller) = Web::new_seller(&srv).await;
    let id = web.create_app("Big export").await;
    for _ in 0..6 {
        generate(&srv, &seller, &id, json!({"count": 100, "durationType": "30d"})).await;
    }
    let p = web.get(&format!("/apps/{id}/licenses.csv")).await;
    let keys: Vec<&str> =
        p.body.split("\r\n").skip(1).filter(|l| !l.is_empty()).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(keys.len(), 600);
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 600, "no license twice across the chunks");
}
