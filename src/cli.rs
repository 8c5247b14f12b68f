//! The command line: `serve`, `validate`, `export`, `status`.

use crate::app::{App, SharedApp};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::{content, jobs, publish, scheduler};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "bridgecast",
    version,
    about = "Multilingual syndication: feeds in every language from one article with translations"
)]
pub struct Args {
    /// Configuration file (TOML). Without it, ./bridgecast.toml is used if present,
    /// else the built-in defaults; BRIDGECAST_* variables override either.
    #[arg(long, short, global = true, env = "BRIDGECAST_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: load content, publish what is due, serve feeds, keep working.
    Serve {
        /// Listen address, overriding `listen` from the config.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Check the configuration and every channel and article; print each problem as
    /// `file:line: message` and exit non-zero if there is any.
    Validate,
    /// Write every feed and page as static files (with .gz and .br) under DIR.
    Export { dir: PathBuf },
    /// Show what is published, scheduled and failing; with ARTICLE (an id or
    /// channel/slug), that article's translations, the feeds and the posts that carry it.
    Status { article: Option<String> },
    /// Social accounts: preview posts, check credentials.
    #[command(subcommand)]
    Social(SocialCommand),
    /// Email digests: preview a recipient's next digest, send what is due.
    #[command(subcommand)]
    Digest(DigestCommand),
    /// Friendship organisations and their contacts, as CSV.
    #[command(subcommand)]
    Orgs(OrgsCommand),
    /// Subscribers confirmed elsewhere, imported from CSV.
    #[command(subcommand)]
    Subscribers(SubscribersCommand),
    /// Admin API tokens: create (shown once), list, revoke.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Poll every upstream feed (`[[ingest]]`) now, ignoring their requested waits.
    Ingest,
}

#[derive(Debug, Subcommand)]
pub enum SubscribersCommand {
    /// Import active subscribers (`email,name,locale,channels,topics,frequency,
    /// time_zone,hour,weekday`); consent is recorded as an import of FILE.
    Import {
        file: PathBuf,
        /// Their first digest covers what went live after this time (RFC 3339);
        /// default: now.
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DigestCommand {
    /// Write the exact message (signed, every header) RECIPIENT's next digest would be,
    /// without sending it.
    Preview {
        /// The recipient's address (a subscriber or an organisation's contact).
        #[arg(long)]
        recipient: String,
        /// Where to write the message.
        #[arg(long)]
        out: PathBuf,
    },
    /// Every recipient: state, next digest, last delivery.
    Status,
    /// Queue and send every digest that is due now.
    Send {
        /// Only show who would get what; send and record nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgsCommand {
    /// Import organisations and contacts from CSV (one row per contact); bad rows are
    /// reported with their line and reason, the good ones imported.
    Import { file: PathBuf },
    /// Write every organisation and contact as CSV (stdout without FILE).
    Export { file: Option<PathBuf> },
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token and print it (it is stored hashed and cannot be shown again).
    Create {
        /// What the token may do: read, articles:write, audience:write (repeatable).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// A name to recognise it by in `tokens list`.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by its id (the part after `bc_`, before the next `_`).
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum SocialCommand {
    /// Print, without posting, every post that would be made (for ARTICLE: an id,
    /// channel/slug or slug), one JSON object per line.
    Preview { article: Option<String> },
    /// Check every account's credentials and reachability, without posting.
    Check,
}

pub fn init_logging(args: &Args) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("BRIDGECAST_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new("info,sqlx=warn,tokio_cron_scheduler=warn")
        });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn load_config(args: &Args) -> Result<Config> {
    let default = PathBuf::from("bridgecast.toml");
    let path = args
        .config
        .clone()
        .or_else(|| default.exists().then_some(default));
    Config::load(path.as_deref())
}

pub async fn run(args: Args) -> Result<ExitCode> {
    let mut config = load_config(&args)?;
    match args.command {
        Command::Serve { listen } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            serve(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate => Ok(validate(&config)),
        Command::Export { dir } => export(config, &dir).await,
        Command::Status { article } => status(config, article.as_deref()).await,
        Command::Social(SocialCommand::Preview { article }) => {
            social_preview(config, article.as_deref()).await
        }
        Command::Social(SocialCommand::Check) => social_check(config).await,
        Command::Digest(DigestCommand::Preview { recipient, out }) => {
            digest_preview(config, &recipient, &out).await
        }
        Command::Digest(DigestCommand::Send { dry_run }) => digest_send(config, dry_run).await,
        Command::Digest(DigestCommand::Status) => {
            let app = App::new(config, Arc::new(SystemClock)).await?;
            print!("{}", crate::email::status::recipients(&app).await?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Subscribers(SubscribersCommand::Import { file, since }) => {
            let since = since
                .map(|s| {
                    chrono::DateTime::parse_from_rfc3339(&s)
                        .map(|t| t.to_utc())
                        .with_context(|| format!("--since {s:?} is not an RFC 3339 time"))
                })
                .transpose()?;
            let app = open(config).await?;
            let since = since.unwrap_or_else(|| app.now());
            let (n, errors) = crate::email::csv::import_subscribers(&app, &file, since).await?;
            for (line, e) in &errors {
                eprintln!("{}:{line}: {e}", file.display());
            }
            println!("{n} subscribers imported; {} rows refused", errors.len());
            Ok(if errors.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            })
        }
        Command::Orgs(OrgsCommand::Import { file }) => orgs_import(config, &file).await,
        Command::Orgs(OrgsCommand::Export { file }) => orgs_export(config, file.as_deref()).await,
        Command::Tokens(cmd) => tokens(config, cmd).await,
        Command::Ingest => ingest_now(config).await,
    }
}

/// Loads the store's documents into memory, syncs content, and queues a render of
/// every feed (coalesced), so a restart after a crash converges on the right state.
pub async fn start(app: &SharedApp) -> Result<publish::SyncSummary> {
    for d in app.store.documents().await? {
        app.cache.put(d);
    }
    let summary = publish::sync_content(app, true).await?;
    publish::enqueue_renders(app, &publish::all_feeds(&app.channels())).await?;
    publish::publish_due(app).await?;
    let demo = &app.config.email.demo_dir;
    if !demo.as_os_str().is_empty() {
        crate::email::demo::seed(app, demo).await?;
    }
    Ok(summary)
}

/// Opens the store and content for a one-shot command (no server, no worker).
async fn open(config: Config) -> Result<SharedApp> {
    let app = App::new(config, Arc::new(SystemClock)).await?;
    start(&app).await?;
    Ok(app)
}

async fn digest_preview(config: Config, address: &str, out: &std::path::Path) -> Result<ExitCode> {
    let app = open(config).await?;
    let email = crate::email::message::normalized(address)
        .map_err(|e| anyhow::anyhow!("{address}: {e}"))?;
    let recipients = app.store.recipients_by_email(&email).await?;
    let Some(r) = recipients.first() else {
        eprintln!("{address}: no subscriber or contact has this address");
        return Ok(ExitCode::FAILURE);
    };
    let now = app.now();
    let (cutoff, period) = r
        .cadence
        .next_slot(now)
        .map(|(t, p)| (now.max(t.min(now)), p))
        .unwrap_or((now, format!("i{}", crate::clock::to_millis(now))));
    let items = crate::email::digest::items(&app, r, r.since, cutoff).await?;
    if items.is_empty() {
        println!(
            "{address}: nothing new since {}; no digest would be sent",
            r.since.to_rfc3339()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let key = crate::jobs::Job::SendDigest {
        recipient: r.key.clone(),
        period: period.clone(),
        cutoff: crate::clock::to_millis(cutoff),
    }
    .key();
    let n = items.len();
    let outgoing = crate::email::digest::outgoing(&app, r, items, cutoff, &key);
    let bytes = app.mail.preview(&outgoing)?;
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "{}: {} ({n} articles, {} bytes, period {period}, locale {}) written to {}",
        r.key,
        outgoing.body.subject,
        bytes.len(),
        r.locale,
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn digest_send(config: Config, dry_run: bool) -> Result<ExitCode> {
    let app = open(config).await?;
    if dry_run {
        let now = app.now();
        let mut rows = 0;
        for r in app.store.due_recipients(now, i64::MAX).await? {
            let cutoff = r.cadence.last_slot(now).map_or(now, |(t, _)| t);
            let items = crate::email::digest::items(&app, &r, r.since, cutoff).await?;
            println!(
                "{}\t{}\t{}\t{}\t{} articles{}",
                r.key,
                crate::email::message::redact(&r.email),
                r.locale,
                r.cadence.frequency.as_str(),
                items.len(),
                if items.is_empty() {
                    " (nothing sent)"
                } else {
                    ""
                }
            );
            rows += 1;
        }
        if let Some(newest) = app.store.newest_live().await? {
            for r in app.store.instant_recipients(newest, i64::MAX).await? {
                let items = crate::email::digest::items(&app, &r, r.since, newest).await?;
                println!(
                    "{}\t{}\t{}\tinstant\t{} articles",
                    r.key,
                    crate::email::message::redact(&r.email),
                    r.locale,
                    items.len()
                );
                rows += 1;
            }
        }
        println!("{rows} recipients due; nothing was sent (dry run)");
        return Ok(ExitCode::SUCCESS);
    }
    let t0 = std::time::Instant::now();
    let planned = crate::email::digest::plan(&app).await?;
    let t1 = std::time::Instant::now();
    let ran = jobs::drain(&app).await?;
    let sent = app
        .metrics
        .emails_sent
        .load(std::sync::atomic::Ordering::Relaxed);
    let secs = t1.elapsed().as_secs_f64();
    println!(
        "{planned} digests queued in {:.2} s; {ran} jobs run, {sent} messages accepted by the relay in {secs:.2} s ({:.0}/s)",
        (t1 - t0).as_secs_f64(),
        sent as f64 / secs.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}

async fn orgs_import(config: Config, file: &std::path::Path) -> Result<ExitCode> {
    let app = open(config).await?;
    let f = std::fs::File::open(file).with_context(|| file.display().to_string())?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::new(size);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report =
        crate::email::csv::import_organisations(&app, f, app.now(), |b| bar.set_position(b))
            .await?;
    bar.finish_and_clear();
    for (line, e) in &report.errors {
        eprintln!("{}:{line}: {e}", file.display());
    }
    println!(
        "{} rows: {} organisations, {} contacts imported; {} rows refused",
        report.rows,
        report.organisations,
        report.contacts,
        report.errors.len()
    );
    Ok(if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

async fn orgs_export(config: Config, file: Option<&std::path::Path>) -> Result<ExitCode> {
    let app = App::new(config, Arc::new(SystemClock)).await?;
    let n = match file {
        Some(p) => {
            let f = std::fs::File::create(p).with_context(|| p.display().to_string())?;
            crate::email::csv::export_organisations(&app, f).await?
        }
        None => crate::email::csv::export_organisations(&app, std::io::stdout().lock()).await?,
    };
    eprintln!("{n} contacts exported");
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: Config) -> Result<()> {
    without_huge_pages();
    crate::zero_copy::raise_open_file_limit();
    let listen = config.listen.clone();
    let app = App::new(config, Arc::new(SystemClock)).await?;
    let summary = start(&app).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(jobs::run_worker(app.clone(), stop_rx.clone()));
    let mut sched = scheduler::start(app.clone()).await?;
    let _watcher = if app.config.scheduler.watch {
        watch_content(app.clone())
    } else {
        None
    };
    tokio::spawn(watch_ready(app.clone(), stop_rx.clone()));
    if app.store.engine() == crate::store::Engine::Postgres {
        tokio::spawn(refresh_cache(app.clone(), stop_rx.clone()));
    }
    let listeners = bind_listeners(&listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listeners[0].local_addr()?;
    println!(
        "bridgecast {} serving http://{addr}/ ({} channels, {} problems in {}; database {})",
        env!("CARGO_PKG_VERSION"),
        app.channels().len(),
        summary.problems,
        app.config.content_dir.display(),
        redact_url(&app.config.database_url()),
    );
    for p in app.problems() {
        println!("  {p}");
    }
    use crate::email::config::TransportKind;
    match app.config.email.transport {
        TransportKind::Smtp => {}
        TransportKind::File => println!(
            "  email: transport = \"file\": messages are written to {} and not sent",
            app.config.data_dir.join("outbox").display()
        ),
        TransportKind::Memory => {
            anyhow::bail!(
                "email.transport = \"memory\" is for tests; serve sends with smtp (or file)"
            )
        }
    }
    let (ended_tx, mut ended) = tokio::sync::mpsc::unbounded_channel();
    let servers = serve_http(&app, listeners, &stop_rx, &ended_tx)?;
    let failed = tokio::select! {
        _ = shutdown_signal() => false,
        _ = ended.recv() => true,
    };
    let _ = stop_tx.send(true);
    for s in servers {
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || s.join()).await {
            std::panic::resume_unwind(e);
        }
    }
    if failed {
        anyhow::bail!("the HTTP server stopped (see the log above)");
    }
    let _ = sched.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(10), worker).await;
    Ok(())
}

/// One listening socket per HTTP thread, all on `listen` (`SO_REUSEPORT`, so the kernel
/// spreads connections over them); one socket where the platform lacks it. A port
/// another process listens on is refused ("address in use") even if that process set
/// `SO_REUSEPORT` too, so two daemons never share a port by mistake.
async fn bind_listeners(listen: &str) -> Result<Vec<std::net::TcpListener>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(16));
    let addr = tokio::net::lookup_host(listen)
        .await?
        .next()
        .with_context(|| format!("{listen} resolves to no address"))?;
    // A plain bind first: it fails on a port in use, and picks the port for `:0`.
    let mut addr = std::net::TcpListener::bind(addr)?.local_addr()?;
    let mut out = Vec::with_capacity(threads);
    for _ in 0..threads {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        #[cfg(unix)]
        socket.set_reuseport(true)?;
        socket.bind(addr)?;
        let listener = socket.listen(1024)?.into_std()?;
        // Port 0 picks a port once; the other sockets join it.
        addr = listener.local_addr()?;
        out.push(listener);
        if cfg!(not(unix)) {
            break;
        }
    }
    Ok(out)
}

/// Serves HTTP on one thread per listener, each with its own single-threaded runtime:
/// a connection and its requests stay on the thread that accepted them, with no
/// hand-over between threads (nginx's worker model). Jobs, the scheduler and the
/// watcher stay on the main runtime. Each server stops, finishing the requests in
/// flight, when `stop` turns true.
fn serve_http(
    app: &SharedApp,
    listeners: Vec<std::net::TcpListener>,
    stop: &tokio::sync::watch::Receiver<bool>,
    ended: &tokio::sync::mpsc::UnboundedSender<()>,
) -> Result<Vec<std::thread::JoinHandle<()>>> {
    let mut handles = vec![];
    for (i, listener) in listeners.into_iter().enumerate() {
        let service = crate::http::make_service(app.clone());
        let mut stop = stop.clone();
        let ended = ended.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let handle = std::thread::Builder::new()
            .name(format!("http-{i}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => {
                            tracing::error!(error = %e, "HTTP listener unusable");
                            return;
                        }
                    };
                    let listener = crate::zero_copy::Listener(listener);
                    let served = axum::serve(listener, service)
                        .with_graceful_shutdown(async move {
                            let _ = stop.wait_for(|s| *s).await;
                        })
                        .await;
                    if let Err(e) = served {
                        tracing::error!(error = %e, "HTTP server failed");
                    }
                });
                let _ = ended.send(());
            })?;
        handles.push(handle);
    }
    Ok(handles)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return ctrl_c.await.unwrap_or(()),
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

/// Turns transparent huge pages off for the daemon (Linux only), which keeps its
/// memory about a fifth smaller.
///
/// The allocator asks for huge pages for its arenas. A render's large buffers
/// (compression tables, documents) are freed and returned to the kernel soon after,
/// and whatever is touched again comes back as whole 2 MiB pages. With the bench store
/// (`bench/run.sh`, 10,000 translations) the peak RSS of `serve` was 664-726 MiB with
/// huge pages (eight runs) and 526-568 MiB without (six runs), with the same requests
/// per second and the same publish-to-served latency (median of 50 samples: 21.9 and
/// 22.0 ms). `export`, one batch that keeps its memory to the end, was about 5 %
/// faster with them, so it keeps them.
fn without_huge_pages() {
    // The flag belongs to the process's memory, whichever thread sets it.
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
        tracing::debug!(error = %e, "transparent huge pages stay on");
    }
}

/// Syncs the content folder when anything in it changes, telling the sync which paths
/// changed so that it reads only those article folders. The returned watcher must be
/// kept alive. Without inotify (or on error) the timer still re-scans.
fn watch_content(app: SharedApp) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    use notify::event::{AccessKind, AccessMode, CreateKind, EventKind, ModifyKind};
    // true: the change is complete (a file closed after writing, a rename, a removal,
    // a new folder), so the sync can start at once; false: a write may still be going on.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<bool>();
    let changes = app.clone();
    let mut watcher = match notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        let complete = match &ev {
            Ok(e) => match e.kind {
                EventKind::Access(AccessKind::Close(AccessMode::Write))
                | EventKind::Modify(ModifyKind::Name(_))
                | EventKind::Remove(_)
                | EventKind::Create(CreateKind::Folder) => true,
                EventKind::Access(_) => return,
                _ => false,
            },
            Err(_) => false,
        };
        match &ev {
            Ok(e) if !e.need_rescan() && !e.paths.is_empty() => {
                for p in &e.paths {
                    changes.content_changed(Some(p.clone()));
                }
            }
            _ => changes.content_changed(None),
        }
        let _ = tx.send(complete);
    }) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the content folder; relying on the re-scan timer");
            return None;
        }
    };
    if let Err(e) = watcher.watch(&app.config.content_dir, notify::RecursiveMode::Recursive) {
        tracing::warn!(error = %e, "cannot watch the content folder; relying on the re-scan timer");
        return None;
    }
    tokio::spawn(async move {
        while let Some(mut complete) = rx.recv().await {
            // Editors write a file in several steps: unless the change is complete,
            // wait for the burst to end.
            while let Ok(c) = rx.try_recv() {
                complete = c;
            }
            if !complete {
                tokio::time::sleep(Duration::from_millis(20)).await;
                while rx.try_recv().is_ok() {}
            }
            if let Err(e) = crate::jobs::Job::SyncContent.submit(&app).await {
                tracing::error!(error = %e, "could not enqueue a content sync");
            }
        }
    });
    Some(watcher)
}

/// Marks the app ready once every channel × locale has its current documents.
async fn watch_ready(app: SharedApp, stop: tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow() {
        let expected = publish::expected_current(&app.channels());
        if expected.iter().all(|p| app.cache.get(p).is_some()) {
            app.set_ready();
            tracing::info!(documents = app.cache.len(), "ready");
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// With several replicas on one PostgreSQL, picks up documents other replicas built.
async fn refresh_cache(app: SharedApp, stop: tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow() {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Err(e) = publish::refresh_from_store(&app).await {
            tracing::warn!(error = %e, "cache refresh failed");
        }
    }
}

fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

fn validate(config: &Config) -> ExitCode {
    let base = match url::Url::parse(config.base()) {
        Ok(b) => b,
        Err(e) => {
            println!("config: base_url: {e}");
            return ExitCode::FAILURE;
        }
    };
    let loaded = content::load(&config.content_dir, &base);
    let i18n = crate::i18n::I18n::new();
    let mut problems = loaded.problems.clone();
    for c in &loaded.channels {
        // A broken source does not stop the channel: it is reported here and, at run
        // time, on the source's status.
        for src in &c.ingest {
            if let Err(message) = crate::ingest::check_source(src, &c.locales) {
                problems.push(content::Problem {
                    path: c.dir.join("feed.toml"),
                    line: 1,
                    message: format!("ingest: {message}"),
                });
            }
        }
        for l in &c.locales {
            for id in [&c.title_msg, &c.description_msg] {
                if i18n.try_msg(l, id, &[]).is_none() {
                    problems.push(content::Problem {
                        path: c.dir.join("feed.toml"),
                        line: 1,
                        message: format!("message {id:?} is missing from locales/{l}/"),
                    });
                }
            }
        }
    }
    for p in &problems {
        println!("{p}");
    }
    let articles: std::collections::BTreeSet<&str> = loaded
        .translations
        .iter()
        .map(|t| t.article_id.as_str())
        .collect();
    println!(
        "{} channels, {} articles, {} translations, {} problems",
        loaded.channels.len(),
        articles.len(),
        loaded.translations.len(),
        problems.len()
    );
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Renders the content folder (plus any articles that arrived through the store
/// rather than files) straight to files. The store is read, not written: an export
/// never changes what a running daemon publishes.
async fn export(config: Config, dir: &std::path::Path) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    // The files are read while the store opens (and migrates, on a first run).
    let base = url::Url::parse(config.base())?;
    let content_dir = config.content_dir.clone();
    let loading = tokio::task::spawn_blocking(move || content::load(&content_dir, &base));
    let app = App::new(config, Arc::new(SystemClock)).await?;
    let loaded = loading.await?;
    let mut translations = loaded.translations;
    translations.extend(app.store.api_translations().await?);
    let problems = loaded.problems;
    app.set_content(loaded.channels, problems.clone());
    let loaded_at = started.elapsed();
    let app2 = app.clone();
    let out = dir.to_path_buf();
    let files = std::sync::atomic::AtomicUsize::new(0);
    // Each render thread writes what it made at once: writing overlaps rendering.
    let (docs, files) = tokio::task::spawn_blocking(move || {
        let n = publish::render_everything(&app2, &translations, &|docs| {
            let written = publish::write_static(&out, &docs)?;
            files.fetch_add(written, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        })?;
        anyhow::Ok((n, files.into_inner()))
    })
    .await??;
    let media = publish::copy_media(&app.channels(), dir)?;
    tracing::info!(load = ?loaded_at, render_and_write = ?(started.elapsed() - loaded_at), "export phases");
    for p in &problems {
        eprintln!("{p}");
    }
    println!(
        "exported {} documents ({files} files with .gz and .br, {media} media files) to {} in {:.2?}; {} problems",
        docs,
        dir.display(),
        started.elapsed(),
        problems.len()
    );
    Ok(if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

async fn status(config: Config, article: Option<&str>) -> Result<ExitCode> {
    let app = App::new(config, Arc::new(SystemClock)).await?;
    let base = url::Url::parse(app.config.base())?;
    let dir = app.config.content_dir.clone();
    let loaded = tokio::task::spawn_blocking(move || content::load(&dir, &base)).await?;
    app.set_content(loaded.channels, loaded.problems);
    print!("{}", crate::status::report(&app, article).await?);
    Ok(ExitCode::SUCCESS)
}

async fn tokens(config: Config, cmd: TokensCommand) -> Result<ExitCode> {
    use crate::api::auth;
    let app = App::new(config, Arc::new(SystemClock)).await?;
    match cmd {
        TokensCommand::Create { scopes, name } => {
            let mut parsed = vec![];
            for s in &scopes {
                match crate::api::Scope::parse(s) {
                    Some(p) => parsed.push(p),
                    None => {
                        eprintln!("unknown scope {s:?}; scopes: {}", auth::scope_names());
                        return Ok(ExitCode::from(2));
                    }
                }
            }
            let (row, token) = auth::create(&app.store, &name, &parsed, app.now()).await?;
            eprintln!(
                "token {} ({}) created with scopes {}; it is shown once, store it now:",
                row.id,
                if row.name.is_empty() {
                    "unnamed"
                } else {
                    &row.name
                },
                row.scopes.join(" ")
            );
            println!("{token}");
        }
        TokensCommand::List => {
            for t in app.store.tokens().await? {
                let state = match t.revoked_at {
                    Some(at) => format!("revoked {}", crate::feed::rfc3339(at)),
                    None => "live".to_owned(),
                };
                println!(
                    "{}  {:<20} {:<34} created {}  last used {}  {state}",
                    t.id,
                    t.name,
                    t.scopes.join(" "),
                    crate::feed::rfc3339(t.created_at),
                    t.last_used_at
                        .map_or("never".to_owned(), crate::feed::rfc3339),
                );
            }
        }
        TokensCommand::Revoke { id } => {
            if app.store.revoke_token(&id, app.now()).await? {
                println!("revoked {id}");
            } else {
                eprintln!("no live token {id}");
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn ingest_now(config: Config) -> Result<ExitCode> {
    let app = App::new(config, Arc::new(SystemClock)).await?;
    start(&app).await?;
    let r = crate::ingest::poll_all(&app, true).await?;
    jobs::drain(&app).await?;
    for s in app.store.ingest_sources().await? {
        println!(
            "{}  {} [{}]  {}{}",
            s.url,
            s.channel,
            s.locale,
            s.last_status.as_deref().unwrap_or("-"),
            s.last_error.map(|e| format!(": {e}")).unwrap_or_default()
        );
    }
    println!(
        "{} polled, {} not modified, {} failed, {} translations added or corrected",
        r.polled, r.not_modified, r.failed, r.changed
    );
    Ok(if r.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn social_preview(config: Config, article: Option<&str>) -> Result<ExitCode> {
    let app = App::new(config, Arc::new(SystemClock)).await?;
    let base = url::Url::parse(app.config.base())?;
    let dir = app.config.content_dir.clone();
    let loaded = tokio::task::spawn_blocking(move || content::load(&dir, &base)).await?;
    let mut translations = loaded.translations.clone();
    app.set_content(loaded.channels, loaded.problems);
    if let Some(a) = article {
        translations.retain(|t| {
            t.article_id == a || t.slug == a || format!("{}/{}", t.channel, t.slug) == a
        });
        if translations.is_empty() {
            anyhow::bail!("no article {a:?} (give its tag: id, channel/slug or slug)");
        }
    }
    let now = app.now();
    translations.retain(|t| t.published_at <= now);
    for (t, account, post) in crate::social::planned(&app, &translations) {
        let platform = &app.social[&account.id];
        let c = platform.compose(&post);
        let mut line = serde_json::json!({
            "platform": platform.name(),
            "account": account.id,
            "enabled": account.enabled,
            "locale": t.locale,
            "article": t.article_id,
            "text": c.text,
        });
        if let Some(f) = c.facets {
            line["facets"] = f;
        }
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn social_check(config: Config) -> Result<ExitCode> {
    let app = App::new(config, Arc::new(SystemClock)).await?;
    let mut failed = 0;
    let mut ids: Vec<&String> = app.social.keys().collect();
    ids.sort();
    for id in ids {
        match app.social[id].healthcheck().await {
            Ok(()) => println!("{id}: ok"),
            Err(e) => {
                failed += 1;
                println!("{id}: {e}");
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::bind_listeners;

    #[tokio::test]
    async fn listeners_share_one_port_and_a_port_in_use_is_refused() {
        let ls = bind_listeners("127.0.0.1:0").await.expect("bind");
        let port = ls[0].local_addr().unwrap().port();
        assert_ne!(port, 0);
        assert!(ls.iter().all(|l| l.local_addr().unwrap().port() == port));
        let addr = format!("127.0.0.1:{port}");
        let err = bind_listeners(&addr).await.expect_err("a second daemon");
        let io = err.downcast_ref::<std::io::Error>().expect("an I/O error");
        assert_eq!(io.kind(), std::io::ErrorKind::AddrInUse, "{err}");
        drop(ls);
        assert!(bind_listeners(&addr).await.is_ok(), "free again");
    }
}
