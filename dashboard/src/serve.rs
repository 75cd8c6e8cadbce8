//! The listener: each connection served by hyper on its own task, over TLS when configured.
//! A handshake that does not finish in time, or a connection that fails, ends only itself.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::config::DashboardSettings;
use crate::relay::Relay;
use crate::target::TargetSettings;
use crate::web::{Web, router};

/// A TLS handshake must finish within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A running dashboard: the relay watching its targets and the server for browsers.
/// Dropping it stops both.
pub struct Dashboard {
    address: SocketAddr,
    tls: bool,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Dashboard {
    /// Binds the listener and starts watching the targets.
    ///
    /// # Errors
    ///
    /// The address cannot be bound.
    pub async fn start(
        settings: DashboardSettings,
        targets: TargetSettings,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(settings.listen).await?;
        let address = listener.local_addr()?;
        let relay = Relay::start(&settings.targets, settings.targets_dir.as_deref(), targets);
        let web = Arc::new(Web {
            relay,
            token: settings.token.clone(),
            control: settings.control,
            loopback: address.ip().is_loopback(),
        });
        let tls = settings.tls.clone().map(TlsAcceptor::from);
        let stop = CancellationToken::new();
        let task = tokio::spawn(accept_loop(listener, tls.clone(), web, stop.clone()));
        Ok(Dashboard {
            address,
            tls: tls.is_some(),
            stop,
            task: Some(task),
        })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The page's address (`http://127.0.0.1:7070/`, or `https://` with TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/", self.address)
    }

    /// Stops serving; open connections end with it.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            // Its end is what was asked for.
            let _ = task.await;
        }
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    web: Arc<Web>,
    stop: CancellationToken,
) {
    let app = router(web);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, say: wait a little rather than spin.
                    tracing::warn!(%error, "dashboard: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.cancelled() => return,
        };
        let app = app.clone();
        let tls = tls.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = connection(stream, tls, app) => {}
                _ = stop.cancelled() => {}
            }
            tracing::trace!(%peer, "dashboard: connection ended");
        });
    }
}

async fn connection(stream: TcpStream, tls: Option<TlsAcceptor>, app: axum::Router) {
    let Some(acceptor) = tls else {
        return serve_http(stream, app).await;
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => serve_http(stream, app).await,
        Ok(Err(error)) => tracing::debug!(%error, "dashboard: TLS handshake failed"),
        Err(_) => {}
    }
}

/// HTTP/1.1 with upgrades (the WebSocket) on one connection, plain or TLS.
async fn serve_http<S>(stream: S, app: axum::Router)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
        .with_upgrades()
        .await;
}
