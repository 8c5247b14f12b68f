//! The audience as CSV: organisations with contacts in and out (bad rows reported
//! with their line and reason, good rows imported), subscribers imported with a
//! consent record, and the demo audience loaded on a fresh store.

use crate::support::{TestApp, engines, repo};
use bridgecast::email::csv::{HEADER, export_organisations, import_organisations};

const GOOD: &str = "qld,en=Queensland Friendship Society;zh-Hans=昆士兰友好协会,AU,Brisbane,2002,,education;robotics,weekly,Australia/Brisbane,9,1";

#[tokio::test]
async fn organisations_import_reports_bad_rows_and_keeps_good_ones() {
    for db in engines() {
        let t = TestApp::builder().db(db).build().await;
        let csv = format!(
            "{}\n{GOOD},Ann Lee,ann@example.org,en,Trade office\n\
             {GOOD},Wang Fang,wang@example.org,zh-Hans,Secretary\n\
             {GOOD},No At,not-an-address,en,x\n\
             bad id!,en=X,AU,Brisbane,,,,daily,UTC,8,1,A,a@example.org,en,x\n\
             qld2,en=X,AUS,Brisbane,,,,daily,UTC,8,1,A,a@example.org,en,x\n\
             qld3,en=X,AU,Brisbane,,,,hourly,UTC,8,1,A,a@example.org,en,x\n\
             qld4,en=X,AU,Brisbane,,,,daily,Mars/Base,8,1,A,a@example.org,en,x\n\
             qld5,en=X,AU,Brisbane,,,,daily,UTC,8,1,A,a@example.org,xx,x\n\
             qld6,en=X,AU,Brisbane,,nochannel,,daily,UTC,8,1,A,a@example.org,en,x\n\
             short,row\n",
            HEADER.join(",")
        );
        let mut seen = vec![];
        let report = import_organisations(&t.app, csv.as_bytes(), t.app.now(), |b| seen.push(b))
            .await
            .unwrap();
        assert_eq!(report.rows, 10);
        assert_eq!(report.organisations, 1);
        assert_eq!(report.contacts, 2);
        let errs: Vec<(u64, &str)> = report
            .errors
            .iter()
            .map(|(l, e)| (*l, e.split(':').next().unwrap()))
            .collect();
        assert_eq!(
            errs,
            vec![
                (4, "contact_email"),
                (5, "org_id"),
                (6, "country"),
                (7, "frequency"),
                (8, "time_zone"),
                (9, "contact_locale"),
                (10, "channels"),
                (11, "2 fields, expected 15"),
            ],
            "{:?}",
            report.errors
        );
        assert!(seen.windows(2).all(|w| w[0] <= w[1]) && !seen.is_empty());
        let org = t.app.store.organisation("qld").await.unwrap().unwrap();
        assert_eq!(org.name_in("zh-Hans"), "昆士兰友好协会");
        assert_eq!(org.name_in("de"), "Queensland Friendship Society");
        let contacts = t.app.store.contacts("qld").await.unwrap();
        assert_eq!(contacts.len(), 2);
        assert!(contacts.iter().all(|c| c.next_due.is_some()));
        // Export, then import the export into a fresh store: the same rows.
        let mut out = Vec::new();
        assert_eq!(export_organisations(&t.app, &mut out).await.unwrap(), 2);
        let t2 = TestApp::builder().db(db).build().await;
        let again = import_organisations(&t2.app, out.as_slice(), t2.app.now(), |_| {})
            .await
            .unwrap();
        assert!(again.errors.is_empty(), "{:?}", again.errors);
        assert_eq!(again.contacts, 2);
        let mut out2 = Vec::new();
        export_organisations(&t2.app, &mut out2).await.unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(out2).unwrap()
        );
        // A header that is not ours is refused as a whole, naming line 1.
        let err = import_organisations(&t.app, "a,b\n1,2\n".as_bytes(), t.app.now(), |_| {})
            .await
            .unwrap_err();
        assert!(err.to_string().starts_with("line 1:"), "{err}");
    }
}

#[tokio::test]
async fn demo_audience_is_loaded_once_with_consent() {
    let t = TestApp::builder()
        .config(|c| c.email.demo_dir = repo().join("demo"))
        .build()
        .await;
    let subs = t.app.store.subscribers(100).await.unwrap();
    assert!(subs.len() >= 4, "{subs:?}");
    assert!(subs.iter().all(|s| s.email.ends_with("@example.org")));
    let ar = subs
        .iter()
        .find(|s| s.locale == "ar")
        .expect("an ar subscriber");
    let consents = t.app.store.consents(&ar.id).await.unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].action, "import");
    let orgs = t.app.store.organisations().await.unwrap();
    assert_eq!(orgs.len(), 1);
    let locales: std::collections::BTreeSet<String> = t
        .app
        .store
        .contacts(&orgs[0].id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.locale)
        .collect();
    assert!(locales.len() >= 3 && locales.contains("ar"), "{locales:?}");
    // A second start finds an audience and adds nothing.
    assert_eq!(
        bridgecast::email::demo::seed(&t.app, &repo().join("demo"))
            .await
            .unwrap(),
        0
    );
}
