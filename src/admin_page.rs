//! placeholder
use crate::app::SharedApp;
pub fn router() -> axum::Router<SharedApp> {
    axum::Router::new()
}
