//! Crash safety of sending: the real daemon sends a 5,000-recipient instant digest
//! into Postfix's smtp-sink and is killed with SIGKILL several times mid-send. After
//! the last restart every recipient has a message, and a duplicate is possible only
//! for a message the sink had accepted when the process died, before the delivery was
//! recorded: at most the messages in flight at each kill. The test prints the counts.

use crate::email_smtp::{chmod_755, files, header, headers};
use crate::support::{copy_dir, free_port, repo, start_peer};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RECIPIENTS: usize = 5000;
const CONCURRENCY: usize = 16;
const KILLS: usize = 4;

fn start(dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_bridgecast"))
        .arg("serve")
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn recipients_in(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in files(dir, "") {
        let Ok(raw) = std::fs::read(&f) else { continue };
        let h = headers(&raw);
        let (Some(to), Some(id)) = (header(&h, "To"), header(&h, "Message-ID")) else {
            continue;
        };
        let addr = to
            .rsplit_once('<')
            .map_or(to, |(_, a)| a.trim_end_matches('>'))
            .to_owned();
        out.entry(addr).or_default().push(id.to_owned());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_5000_recipient_send_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    chmod_755(tmp.path());
    let mail = tmp.path().join("mail");
    let port = free_port();
    let Some(_sink) = start_peer(
        "start-smtp-sink.sh",
        &["postfix", &port.to_string(), mail.to_str().unwrap()],
        &[],
    ) else {
        return;
    };
    let dir = tmp.path().join("site");
    copy_dir(&repo().join("feeds"), &dir.join("feeds"));
    std::fs::create_dir_all(dir.join("audience")).unwrap();
    let mut csv =
        String::from("email,name,locale,channels,topics,frequency,time_zone,hour,weekday\n");
    let locales = ["en", "ar", "de", "ja", "zh-Hans", "es", "ms", "ne"];
    for i in 0..RECIPIENTS {
        csv.push_str(&format!(
            "reader{i:05}@example.org,Reader {i},{},,,instant,UTC,8,1\n",
            locales[i % locales.len()]
        ));
    }
    std::fs::write(dir.join("audience/subscribers.csv"), csv).unwrap();
    std::fs::write(
        dir.join("bridgecast.toml"),
        format!(
            "listen = \"127.0.0.1:{}\"\nbase_url = \"https://feeds.example.org\"\n\
             [jobs]\nconcurrency = {CONCURRENCY}\nlease_secs = 3\npoll_ms = 100\nbackoff_base_secs = 1\n\
             [scheduler]\ndigests_every_secs = 1\n\
             [email]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\ntls = \"none\"\n\
             from = \"Digest <digest@news.example.org>\"\ndemo_dir = \"audience\"\n",
            free_port()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let mut counts_at_kill = vec![];
    for k in 0..KILLS {
        let mut child = start(&dir);
        // Let it get going, then kill it mid-send.
        let before = files(&mail, "").len();
        let deadline = Instant::now() + Duration::from_secs(120);
        while files(&mail, "").len() < before + 300 + 200 * k && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        counts_at_kill.push(files(&mail, "").len());
        if counts_at_kill.last() >= Some(&RECIPIENTS) {
            break;
        }
    }
    let mut child = start(&dir);
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut last = 0;
    let mut still = Instant::now();
    loop {
        let n = recipients_in(&mail).len();
        if n >= RECIPIENTS {
            break;
        }
        if n != last {
            last = n;
            still = Instant::now();
        }
        assert!(
            Instant::now() < deadline && still.elapsed() < Duration::from_secs(60),
            "stuck at {n} of {RECIPIENTS} recipients"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let anything still in flight land before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let got = recipients_in(&mail);
    let missing: Vec<String> = (0..RECIPIENTS)
        .map(|i| format!("reader{i:05}@example.org"))
        .filter(|a| !got.contains_key(a))
        .collect();
    assert!(missing.is_empty(), "lost: {missing:?}");
    let dups: Vec<(&String, &Vec<String>)> = got.iter().filter(|(_, ids)| ids.len() > 1).collect();
    // A duplicate is the same message (same job, same Message-ID) sent again.
    for (addr, ids) in &dups {
        assert!(ids.iter().all(|i| i == &ids[0]), "{addr}: {ids:?}");
    }
    let _ = writeln!(
        std::io::stderr(),
        "crash test: {RECIPIENTS} recipients, {} SIGKILLs at {counts_at_kill:?} messages, \
         {} messages in the sink, {} recipients twice (bound: {} in flight x {} kills), {:.1} s",
        counts_at_kill.len(),
        got.values().map(Vec::len).sum::<usize>(),
        dups.len(),
        CONCURRENCY,
        counts_at_kill.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        dups.len() <= CONCURRENCY * counts_at_kill.len(),
        "{} duplicates",
        dups.len()
    );
}
