//! A reseller buying licenses: the debit and the insert are one, and concurrent purchases never
//! spend more than the balance.

use super::*;

/// `count` fresh licenses of `app_id` made by `reseller_id`, keys tagged with `tag`.
fn bought(app_id: &str, reseller_id: &str, tag: &str, count: usize) -> Vec<License> {
    (0..count)
        .map(|i| {
            let mut l = license(app_id, &format!("{tag}-{i:03}"));
            l.created_by = Creator::Reseller(reseller_id.into());
            l
        })
        .collect()
}

async fn balance_of<S: Store>(s: &S, app_id: &str, reseller_id: &str) -> i64 {
    s.get_reseller(app_id, reseller_id).await.unwrap().unwrap().balance
}

/// The reseller's own licenses, as its listing shows them (`created_by`).
async fn listed<S: Store>(s: &S, app_id: &str, reseller_id: &str) -> Vec<License> {
    let filter = LicenseFilter { created_by: Some(reseller_id.into()), ..Default::default() };
    let got = s.list_licenses(app_id, &filter, page(1, 100)).await.unwrap();
    assert_eq!(got.total, got.items.len() as u64, "total of the reseller's listing");
    got.items
}

pub async fn reseller_purchases<S: Store>(s: Arc<S>) {
    let s_ref = s.as_ref();
    let (_, a) = seller_with_app(s_ref).await;
    let (_, b) = seller_with_app(s_ref).await;
    let mut rita = reseller(&a.id, "rita");
    rita.balance = 10;
    s.create_reseller(&rita).await.unwrap();

    // Bought: the balance goes down by the cost, the licenses are stored as given.
    let batch = bought(&a.id, &rita.id, "BUY", 3);
    assert_eq!(
        s.insert_reseller_licenses(&a.id, &rita.id, &batch, 6).await.unwrap(),
        ResellerPurchase::Bought { balance: 4 }
    );
    assert_eq!(balance_of(s_ref, &a.id, &rita.id).await, 4);
    for l in &batch {
        assert_eq!(s.get_license(&a.id, &l.id).await.unwrap().as_ref(), Some(l));
    }
    assert_eq!(listed(s_ref, &a.id, &rita.id).await.len(), 3);
    totals_match(s_ref, &a.id, "after a purchase").await;

    // Not enough credit: nothing written, the balance as it is reported.
    let too_dear = bought(&a.id, &rita.id, "DEAR", 2);
    assert_eq!(
        s.insert_reseller_licenses(&a.id, &rita.id, &too_dear, 5).await.unwrap(),
        ResellerPurchase::NotEnoughCredit { balance: 4 }
    );
    assert_eq!(balance_of(s_ref, &a.id, &rita.id).await, 4);
    assert_eq!(s.license_by_key(&a.id, "DEAR-000").await.unwrap(), None);

    // Exactly the balance is enough; a free purchase is allowed at zero.
    let exact = bought(&a.id, &rita.id, "EXACT", 1);
    assert_eq!(
        s.insert_reseller_licenses(&a.id, &rita.id, &exact, 4).await.unwrap(),
        ResellerPurchase::Bought { balance: 0 }
    );
    let free = bought(&a.id, &rita.id, "FREE", 1);
    assert_eq!(
        s.insert_reseller_licenses(&a.id, &rita.id, &free, 0).await.unwrap(),
        ResellerPurchase::Bought { balance: 0 }
    );

    // A duplicate key: the conflict, and the debit undone with the insert.
    s.update_reseller(&a.id, &rita.id, &ResellerPatch { balance: Some(10), ..Default::default() })
        .await
        .unwrap()
        .unwrap();
    let mut dup = bought(&a.id, &rita.id, "DUP", 2);
    dup[1].key = batch[0].key.clone();
    assert_conflict(s.insert_reseller_licenses(&a.id, &rita.id, &dup, 2).await, constraint::LICENSE_APP_KEY);
    assert_eq!(balance_of(s_ref, &a.id, &rita.id).await, 10);
    assert_eq!(s.license_by_key(&a.id, "DUP-000").await.unwrap(), None);

    // Another app's id, an unknown reseller: missing, nothing written.
    let stray = bought(&b.id, &rita.id, "STRAY", 1);
    assert_eq!(
        s.insert_reseller_licenses(&b.id, &rita.id, &stray, 1).await.unwrap(),
        ResellerPurchase::ResellerMissing
    );
    assert_eq!(s.license_by_key(&b.id, "STRAY-000").await.unwrap(), None);
    assert_eq!(
        s.insert_reseller_licenses(&a.id, "rsl_missing", &bought(&a.id, "rsl_missing", "GONE", 1), 0).await.unwrap(),
        ResellerPurchase::ResellerMissing
    );
    assert_eq!(balance_of(s_ref, &a.id, &rita.id).await, 10);
    assert_eq!(listed(s_ref, &a.id, &rita.id).await.len(), 5);

    // 30 purchases of 1 license at 1 credit against a balance of 10, all at once: exactly 10
    // are bought, the others are refused, and exactly 10 more licenses exist.
    const N: usize = 30;
    let results = race(&s, N, |s, i| {
        let (app_id, rid) = (a.id.clone(), rita.id.clone());
        async move {
            let one = bought(&app_id, &rid, &format!("RACE{i:02}"), 1);
            s.insert_reseller_licenses(&app_id, &rid, &one, 1).await
        }
    })
    .await;
    let mut left: Vec<i64> = Vec::new();
    let mut refused = 0;
    for r in results {
        match r {
            Ok(ResellerPurchase::Bought { balance }) => left.push(balance),
            Ok(ResellerPurchase::NotEnoughCredit { balance }) => {
                assert_eq!(balance, 0, "refused only once the balance is spent");
                refused += 1;
            }
            other => panic!("insert_reseller_licenses failed under concurrency: {other:?}"),
        }
    }
    left.sort_unstable();
    assert_eq!(left, (0..10).collect::<Vec<i64>>(), "each purchase saw its own balance");
    assert_eq!(refused, N - 10);
    assert_eq!(balance_of(s_ref, &a.id, &rita.id).await, 0);
    assert_eq!(listed(s_ref, &a.id, &rita.id).await.len(), 15);
    totals_match(s_ref, &a.id, "after the race").await;

    // Deleting the reseller keeps the licenses it sold.
    assert!(s.delete_reseller(&a.id, &rita.id).await.unwrap());
    assert_eq!(listed(s_ref, &a.id, &rita.id).await.len(), 15);
}

/// Credit added while purchases debit the same balance: every credit and every purchase counts
/// (nothing is overwritten), the ceiling is kept, and another app's reseller is not found.
pub async fn reseller_credit_with_purchases<S: Store>(s: Arc<S>) {
    let s_ref = s.as_ref();
    let (_, a) = seller_with_app(s_ref).await;
    let (_, b) = seller_with_app(s_ref).await;
    let mut rita = reseller(&a.id, "rita");
    rita.balance = 100;
    s.create_reseller(&rita).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (s, app, id) = (s.clone(), a.id.clone(), rita.id.clone());
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                matches!(s.add_reseller_credit(&app, &id, 7, 1_000).await.unwrap(), CreditAdded::Added { .. })
            } else {
                let keys = bought(&app, &id, &format!("C{i}"), 1);
                matches!(
                    s.insert_reseller_licenses(&app, &id, &keys, 3).await.unwrap(),
                    ResellerPurchase::Bought { .. }
                )
            }
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap(), "every credit and purchase went through");
    }
    // 100 + 10 x 7 - 10 x 3
    assert_eq!(balance_of(s_ref, &a.id, &rita.id).await, 140);
    assert_eq!(
        s.add_reseller_credit(&a.id, &rita.id, 861, 1_000).await.unwrap(),
        CreditAdded::OverMax { balance: 140 }
    );
    assert_eq!(balance_of(s_ref, &a.id, &rita.id).await, 140, "nothing written past the ceiling");
    assert_eq!(
        s.add_reseller_credit(&a.id, &rita.id, 860, 1_000).await.unwrap(),
        CreditAdded::Added { balance: 1_000 }
    );
    assert_eq!(s.add_reseller_credit(&b.id, &rita.id, 1, 1_000).await.unwrap(), CreditAdded::ResellerMissing);
}
