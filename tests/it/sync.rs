//! Content syncs that read only the article folders the watcher reported, on both
//! engines: what they publish, update and remove must equal what a full sync would do.

use crate::support::{Db, TestApp, engines};
use bridgecast::jobs::{self, Job};
use bridgecast::store::JobState;

const NEW: &str = "news/articles/harbour-forum/en.md";

fn article(title: &str) -> String {
    format!(
        "+++\nid = \"tag:gdfao.example.org,2026-10-20:harbour-forum\"\ntitle = \"{title}\"\nsummary = \"Ports of the partner regions meet.\"\ntopics = [\"education\"]\npublished_at = 2026-10-20T09:00:00+08:00\n+++\nBody of {title}.\n"
    )
}

async fn app(db: Db) -> TestApp {
    TestApp::builder().db(db).build().await
}

/// What the watcher does: note the path, queue the sync job.
async fn notify(t: &TestApp, path: std::path::PathBuf) {
    t.app.content_changed(Some(path));
    Job::SyncContent.submit(&t.app).await.expect("enqueue sync");
}

#[tokio::test]
async fn a_new_article_folder_is_read_alone_and_its_own_language_renders_in_the_sync_job() {
    for db in engines() {
        let t = app(db).await;
        // A broken file elsewhere that nobody reported: a targeted sync does not read it.
        let unreported = t.write(
            "news/articles/round-table/de.md",
            "+++\ntitle = \"unterminated\n+++\n",
        );
        let path = t.write(NEW, &article("Harbour forum"));
        notify(&t, path.parent().unwrap().to_path_buf()).await;
        // One pass of the worker: the sync job and, inside it, the English renders.
        assert!(jobs::run_due(&t.app).await.expect("run") >= 1);
        let en = t.doc("/feeds/news/en/atom.xml");
        assert!(
            en.contains("harbour-forum/en"),
            "{db:?}: served after one pass"
        );
        assert!(
            t.app.problems().is_empty(),
            "{db:?}: the unreported folder was not read: {:?}",
            t.app.problems()
        );
        // Locales that show it through their fallback chains are queued, not yet run.
        let de = t.app.store.job("feeds:news:de").await.unwrap().unwrap();
        assert_eq!(de.state, JobState::Pending, "{db:?}");
        t.drain().await;
        assert!(
            t.doc("/feeds/news/de/atom.xml")
                .contains("harbour-forum/en"),
            "{db:?}: de falls back to en"
        );
        // A full sync finds the broken file the targeted one skipped, and nothing else.
        let s = t.resync().await;
        assert_eq!(s.problems, 1, "{db:?}");
        assert_eq!(t.app.problems()[0].path, unreported, "{db:?}");
        assert_eq!(
            s.changed, 0,
            "{db:?}: the targeted sync had stored everything"
        );
    }
}

#[tokio::test]
async fn a_reported_folder_is_updated_and_removed_like_a_full_sync_would() {
    for db in engines() {
        let t = app(db).await;
        let path = t.write(NEW, &article("Harbour forum"));
        let dir = path.parent().unwrap().to_path_buf();
        notify(&t, dir.clone()).await;
        t.drain().await;

        // A changed file: the new title replaces the old one.
        std::fs::write(&path, article("Harbour forum, second day")).unwrap();
        notify(&t, path.clone()).await;
        t.drain().await;
        let en = t.doc("/feeds/news/en/atom.xml");
        assert!(en.contains("Harbour forum, second day"), "{db:?}");
        let stored = t
            .app
            .store
            .translations_of("tag:gdfao.example.org,2026-10-20:harbour-forum")
            .await
            .unwrap();
        assert_eq!(stored.len(), 1, "{db:?}");
        assert_eq!(stored[0].title, "Harbour forum, second day", "{db:?}");

        // A broken edit: reported with file and line, the last good version stays.
        std::fs::write(&path, "+++\ntitle = \"unterminated\n+++\n").unwrap();
        notify(&t, path.clone()).await;
        t.drain().await;
        let problems = t.app.problems();
        assert_eq!(problems.len(), 1, "{db:?}: {problems:?}");
        assert_eq!(
            (problems[0].path.clone(), problems[0].line),
            (path.clone(), 2)
        );
        assert!(
            t.doc("/feeds/news/en/atom.xml")
                .contains("Harbour forum, second day"),
            "{db:?}: still published"
        );

        // Fixed again: the problem goes away.
        std::fs::write(&path, article("Harbour forum, fixed")).unwrap();
        notify(&t, path.clone()).await;
        t.drain().await;
        assert!(t.app.problems().is_empty(), "{db:?}");

        // The folder removed: the article leaves the store and every feed.
        std::fs::remove_dir_all(&dir).unwrap();
        notify(&t, dir.clone()).await;
        t.drain().await;
        assert!(
            !t.doc("/feeds/news/en/atom.xml").contains("harbour-forum"),
            "{db:?}"
        );
        assert!(
            !t.doc("/feeds/news/de/atom.xml").contains("harbour-forum"),
            "{db:?}"
        );
        assert!(
            t.app
                .store
                .translations_of("tag:gdfao.example.org,2026-10-20:harbour-forum")
                .await
                .unwrap()
                .is_empty(),
            "{db:?}"
        );
        // Nothing left for a full sync to correct.
        assert_eq!(t.resync().await.changed, 0, "{db:?}");
    }
}

#[tokio::test]
async fn an_id_used_by_another_folder_or_a_change_outside_articles_syncs_everything() {
    let t = app(Db::Sqlite).await;
    // Same id as the demo's round table, in a new folder: which one wins depends on the
    // whole folder, so the sync reads all of it and reports the clash as a full one does.
    let round_table = std::fs::read_to_string(t.content.join("news/articles/round-table/en.md"))
        .expect("demo article");
    let copy = t.write("news/articles/zz-copy/en.md", &round_table);
    notify(&t, copy.parent().unwrap().to_path_buf()).await;
    t.drain().await;
    let problems = t.app.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0]
            .message
            .contains("is already used by news/round-table"),
        "{}",
        problems[0]
    );
    std::fs::remove_dir_all(copy.parent().unwrap()).unwrap();

    // A channel definition changed: a full sync (it re-reads every file).
    let unreported = t.write(
        "news/articles/delegation-visit/ja.md",
        "+++\ntitle = \"unterminated\n+++\n",
    );
    notify(&t, t.content.join("news/feed.toml")).await;
    t.drain().await;
    let problems = t.app.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].path, unreported);
}

#[tokio::test]
async fn run_now_runs_only_pending_jobs_and_records_them() {
    let t = app(Db::Sqlite).await;
    // Nothing pending: the render is done, so run_now leaves it.
    let key = Job::RenderFeed {
        channel: "news".into(),
        locale: "ja".into(),
    }
    .key();
    assert_eq!(
        jobs::run_now(&t.app, std::slice::from_ref(&key))
            .await
            .unwrap(),
        0
    );
    Job::RenderFeed {
        channel: "news".into(),
        locale: "ja".into(),
    }
    .submit(&t.app)
    .await
    .unwrap();
    assert_eq!(
        jobs::run_now(&t.app, &[key.clone(), "no-such-job".into()])
            .await
            .unwrap(),
        1
    );
    let row = t.app.store.job(&key).await.unwrap().unwrap();
    assert_eq!(row.state, JobState::Done);
}
