//! Parse, run, map the outcome to an exit code.

use std::process::ExitCode;

use backfill::exit::Exit;
use backfill::report::actions::record_failure;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match backfill::cli::parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            let _ = e.print();
            return Exit::Success.into();
        }
        Err(e) => {
            let message = backfill::cli::usage_error(&e);
            eprintln!("error: {message}");
            record_failure(&message);
            return Exit::Usage.into();
        }
    };
    match backfill::app::execute(cli).await {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("error: {e}");
            record_failure(&e.message);
            e.exit.into()
        }
    }
}
