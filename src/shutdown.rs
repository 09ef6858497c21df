//! SIGTERM and SIGINT: what GitHub Actions sends when a job is cancelled or
//! times out, and what Ctrl-C sends. The run loop races each chunk against
//! them; a chunk that loses is dropped with its open transaction, so
//! PostgreSQL rolls it back and nothing of it is stored.

use tokio::sync::watch;

#[derive(Clone)]
pub struct Shutdown {
    signal: watch::Receiver<Option<&'static str>>,
}

impl Shutdown {
    /// Starts listening for SIGTERM and SIGINT.
    pub fn listen() -> Shutdown {
        let (tx, rx) = watch::channel(None);
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            if let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
                tokio::spawn(async move {
                    let name = tokio::select! {
                        _ = term.recv() => "SIGTERM",
                        _ = int.recv() => "SIGINT",
                    };
                    let _ = tx.send(Some(name));
                });
            }
        }
        #[cfg(not(unix))]
        drop(tx);
        Shutdown { signal: rx }
    }

    /// The signal received so far, if any.
    pub fn requested(&self) -> Option<&'static str> {
        *self.signal.borrow()
    }

    /// Resolves when a signal arrives; never, if none can.
    pub async fn received(&mut self) -> &'static str {
        loop {
            if let Some(name) = *self.signal.borrow_and_update() {
                return name;
            }
            if self.signal.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}
