//! Parse, run, map the outcome to an exit code.

use std::process::ExitCode;

use backfill::exit::Exit;

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
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("{first} (see `backfill --help`)");
            return Exit::Usage.into();
        }
    };
    match backfill::app::execute(cli).await {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("error: {e}");
            backfill::report::actions::annotate_error(&e.message);
            e.exit.into()
        }
    }
}
