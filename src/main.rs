use clap::Parser;

/// mimalloc: the server, the renderers and the mail path allocate many short-lived
/// buffers from several threads, where it spends less time than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let args = bridgecast::cli::Args::parse();
    bridgecast::cli::init_logging(&args);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bridgecast: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(bridgecast::cli::run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("bridgecast: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
