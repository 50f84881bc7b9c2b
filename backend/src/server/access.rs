//! Who may do what: the `Host` and `Origin` checks that keep other web sites out (DNS rebinding,
//! cross-site requests), and the presenter token that separates the presenter from the viewers
//! of a classroom. Owns those decisions; must not know about the cluster.
//!
//! - `Host` must name this server: an IP address (a DNS-rebinding attack always comes with the
//!   attacker's *name*), a loopback name, or a name the teacher allows (`--allow-host`).
//! - `Origin`, when a browser sends one on `/ws` or on a state-changing request, must be this
//!   server's own origin, a loopback one (`trunk serve` during development), or an allowed name.
//!   Scripts such as curl send none and pass.
//! - When the server listens beyond loopback, every command needs the token (`Authorization:
//!   Bearer …`, `X-Logscope-Token: …`, `?token=` on `/ws`, or the cookie below). Without it a
//!   WebSocket is read-only (`role: "viewer"`); on loopback everyone is the presenter, as before.
//! - Opening the presenter URL (`/?token=…`) sets the token as a `SameSite=Strict`, `HttpOnly`
//!   cookie, so the page's own WebSocket carries it without the page having to know about it.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{AppState, ServerError};

/// The cookie that carries the token for the presenter's page.
const COOKIE: &str = "logscope_token";

/// The refusal a viewer gets for a command.
pub(crate) const READ_ONLY: &str = "this connection is read-only (a viewer): controlling the \
    cluster needs the presenter's token — open the presenter URL the server printed";

/// What a connection may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Sees everything and may send commands.
    Presenter,
    /// Sees everything; commands are refused.
    Viewer,
}

impl Role {
    /// As in the hello message's `role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Presenter => "presenter",
            Role::Viewer => "viewer",
        }
    }
}

/// The access rules of one server.
#[derive(Clone, Debug)]
pub(crate) struct Access {
    token: String,
    /// False on loopback: the local user is the presenter without a token.
    require_token: bool,
    allowed_hosts: Vec<String>,
}

impl Access {
    pub(crate) fn new(token: String, require_token: bool, allowed_hosts: &[String]) -> Self {
        Access {
            token,
            require_token,
            allowed_hosts: allowed_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
        }
    }

    /// The role of a request carrying these headers (and `/ws`'s query string).
    pub(crate) fn role(&self, headers: &HeaderMap, query: Option<&str>) -> Role {
        if !self.require_token {
            return Role::Presenter;
        }
        let from_query = query_token(query);
        let from_cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='));
        let from_header = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .or_else(|| {
                headers
                    .get("x-logscope-token")
                    .and_then(|v| v.to_str().ok())
            });
        match from_header.or(from_query).or(from_cookie) {
            Some(given) if constant_time_eq(given.trim().as_bytes(), self.token.as_bytes()) => {
                Role::Presenter
            }
            _ => Role::Viewer,
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        let name = name.trim_end_matches('.');
        name.parse::<std::net::IpAddr>().is_ok()
            || name == "localhost"
            || name.ends_with(".localhost")
            || self.allowed_hosts.iter().any(|h| h == name)
    }

    /// An `Origin` is allowed when it is the server's own (same authority as `Host`), a
    /// loopback page, or an allowed name.
    fn origin_allowed(&self, origin: &str, host: Option<&str>) -> bool {
        let Some(authority) = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
        else {
            return false; // "null" (sandboxed pages, file://) and anything odd
        };
        if host.is_some_and(|h| h.eq_ignore_ascii_case(authority)) {
            return true;
        }
        let name = host_name(authority).to_ascii_lowercase();
        let loopback = name == "localhost"
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        loopback || self.allowed_hosts.contains(&name)
    }
}

fn query_token(query: Option<&str>) -> Option<&str> {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|pair| pair.strip_prefix("token="))
}

/// The name part of `host[:port]` or `[v6]:port`.
fn host_name(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// Equal, in time that does not depend on where the first difference is (the length of the
/// token is not a secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// The file in the data directory that keeps the presenter's token across restarts.
pub const TOKEN_FILE: &str = "presenter-token";

/// True for a token the server takes: at least 8 letters, digits, '-' or '_'.
pub fn is_token(text: &str) -> bool {
    text.len() >= 8
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The presenter's token when none is given: the one an earlier start kept in `data_dir`, so
/// that a restarted server (a crash, a laptop lid, a new cluster with --fresh) still takes the
/// presenter's open page and printed link; else a new random one, kept there for the next
/// start, readable by its owner only. A damaged file is replaced. Deleting the file gives the
/// next start a new token.
pub(crate) fn kept_token(data_dir: &std::path::Path) -> std::io::Result<String> {
    use std::io::Write;
    let path = data_dir.join(TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if is_token(text.trim()) => return Ok(text.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let token = random_token()?;
    let tmp = data_dir.join(format!("{TOKEN_FILE}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(format!("{token}\n").as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(token)
}

/// A fresh random token: 128 bits from the OS, as hex.
pub(crate) fn random_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Middleware on every request: `Host`, then `Origin` and the token for what changes state.
pub(crate) async fn check(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let access = &state.inner.access;
    let headers = request.headers();
    // A Host or Origin this check cannot read, or given twice, is refused rather than skipped:
    // `Host: évil.com` and a second Host after an allowed one got through (QA, 2026-12-02).
    // Browsers send names in ASCII (punycode), once.
    for name in [header::HOST, header::ORIGIN] {
        let mut values = headers.get_all(&name).iter();
        let unreadable = values.next().is_some_and(|v| v.to_str().is_err());
        if unreadable || values.next().is_some() {
            return ServerError::new(
                StatusCode::BAD_REQUEST,
                format!("a request gives its {name} header once, in ASCII"),
            )
            .into_response();
        }
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if let Some(host) = host {
        if !access.host_allowed(host) {
            return ServerError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "unknown host {host:?}: this server answers to its IP addresses and \
                     localhost; start it with --allow-host NAME to use a name"
                ),
            )
            .into_response();
        }
    }
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let is_ws = request.uri().path() == "/ws";
    if changes_state || is_ws {
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            if !access.origin_allowed(origin, host) {
                return ServerError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "cross-origin request refused: a page from {origin:?} may not use this \
                         server (only its own page may)"
                    ),
                )
                .into_response();
            }
        }
    }
    if changes_state && access.role(headers, None) == Role::Viewer {
        return ServerError::new(
            StatusCode::FORBIDDEN,
            "this server is shared: commands need the presenter's token, as \
             `Authorization: Bearer TOKEN` or `X-Logscope-Token: TOKEN`",
        )
        .into_response();
    }
    // The presenter URL: remember the token for the page's WebSocket (same site only).
    let set_cookie = request.method() == Method::GET
        && !is_ws
        && access.require_token
        && query_token(request.uri().query()).is_some()
        && access.role(&HeaderMap::new(), request.uri().query()) == Role::Presenter;
    let token = access.token.clone();
    let mut response = next.run(request).await;
    if set_cookie {
        let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict");
        if let Ok(value) = header::HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(require_token: bool) -> Access {
        Access::new("s3cret".into(), require_token, &["Lab-PC".into()])
    }

    #[test]
    fn hosts_are_ip_addresses_loopback_names_or_allowed_names() {
        let a = access(false);
        for ok in [
            "127.0.0.1:7878",
            "[::1]:7878",
            "192.168.1.20",
            "localhost:7878",
            "lab-pc:7878",
        ] {
            assert!(a.host_allowed(ok), "{ok}");
        }
        for bad in [
            "attacker.example",
            "attacker.example:7878",
            "lab-pc.attacker.example",
        ] {
            assert!(!a.host_allowed(bad), "{bad}");
        }
    }

    #[test]
    fn origins_must_be_the_servers_own_or_loopback() {
        let a = access(false);
        let host = Some("192.168.1.20:7878");
        assert!(a.origin_allowed("http://192.168.1.20:7878", host));
        assert!(
            a.origin_allowed("http://127.0.0.1:8080", host),
            "trunk serve"
        );
        assert!(a.origin_allowed("http://lab-pc:7878", host));
        assert!(!a.origin_allowed("http://evil.example", host));
        assert!(!a.origin_allowed("null", host));
        assert!(!a.origin_allowed("http://192.168.1.21:7878", host));
    }

    #[test]
    fn the_token_makes_a_presenter_only_when_required() {
        let mut headers = HeaderMap::new();
        assert_eq!(access(false).role(&headers, None), Role::Presenter);
        assert_eq!(access(true).role(&headers, None), Role::Viewer);
        assert_eq!(
            access(true).role(&headers, Some("token=s3cret")),
            Role::Presenter
        );
        assert_eq!(
            access(true).role(&headers, Some("token=s3creT")),
            Role::Viewer
        );
        headers.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert_eq!(access(true).role(&headers, None), Role::Presenter);
        let mut headers = HeaderMap::new();
        headers.insert("x-logscope-token", "s3cre".parse().unwrap());
        assert_eq!(access(true).role(&headers, None), Role::Viewer);
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=b; logscope_token=s3cret".parse().unwrap(),
        );
        assert_eq!(access(true).role(&headers, None), Role::Presenter);
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
