//! The loader builder: a copy of a prebuilt loader template with the app's configuration
//! written into its reserved region (`tollgate_core::loader_config`). No compiler runs: the
//! template's bytes are copied and one fixed-size region is overwritten.

use tollgate_core::loader_config::{self, AuthType, LoaderConfig, RegionError};
use tollgate_core::DomainError;
use tollgate_store::StoreError;

use super::{audit, Actor};
use crate::builder::templates::{self, Template};
use crate::state::AppState;

/// The languages a loader can be built in: Tollgate's own Rust loader.
pub const LANGUAGES: &[&str] = &["rust"];

/// What the seller asks for.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    pub app_id: String,
    pub language: String,
    pub file_id: Option<String>,
    pub title: String,
    pub auth_type: String,
    /// A template's name; the host's (or the only one) when absent.
    pub template: Option<String>,
}

/// A built loader.
pub struct Built {
    /// `<Title>_loader`, `.exe` added for a Windows template.
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// Why no loader was built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("language must be one of: {}", LANGUAGES.join(", "))]
    Language,
    #[error(transparent)]
    Invalid(#[from] DomainError),
    #[error("Application not found")]
    AppNotFound,
    #[error("File not found")]
    FileNotFound,
    #[error("The builder needs this server's public URL, which the loader connects to: start the server with --public-url or TOLLGATE_PUBLIC_URL")]
    PublicUrlRequired,
    #[error("{}", no_template_message())]
    NoTemplate,
    #[error("Unknown template `{name}`; this server has: {}", available.join(", "))]
    UnknownTemplate { name: String, available: Vec<String> },
    #[error("This server has several templates; name one in `template`: {}", available.join(", "))]
    TemplateAmbiguous { available: Vec<String> },
    #[error("The configuration does not fit the template: {0}")]
    TooLarge(RegionError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The template could not be read or stopped being a template since it was listed.
    #[error("the template cannot be used")]
    Template,
}

fn no_template_message() -> String {
    format!(
        "This server has no loader template: put the `tollgate-loader` built with the server (cargo build --release) beside the `tollgate` binary, or copy a loader built for a platform to <data_dir>/templates/loader_rust_<os>_<arch> (this host: {})",
        templates::host_name()
    )
}

/// Build a loader for one of the seller's apps.
pub async fn build(state: &AppState, by: &Actor, seller_id: &str, req: BuildRequest) -> Result<Built, BuildError> {
    if !LANGUAGES.contains(&req.language.as_str()) {
        return Err(BuildError::Language);
    }
    let auth_type = AuthType::parse(&req.auth_type)
        .ok_or_else(|| DomainError::validation("authType", "must be one of: login, license, both"))?;
    loader_config::validate_title(&req.title)?;

    let app = state.store.get_app(seller_id, &req.app_id).await?.ok_or(BuildError::AppNotFound)?;
    if let Some(file_id) = &req.file_id {
        state.store.get_file(&app.id, file_id).await?.ok_or(BuildError::FileNotFound)?;
    }
    let url = state.config.public_url.as_deref().ok_or(BuildError::PublicUrlRequired)?;

    let template = choose(&crate::builder::discover(state).await, req.template.as_deref())?;
    let config = LoaderConfig {
        url: url.trim_end_matches('/').to_owned(),
        app_id: app.id.clone(),
        api_key: app.api_key.clone(),
        public_key_pem: state.signer.get().public_key_pem().to_owned(),
        title: req.title.clone(),
        auth_type,
        file_id: req.file_id.clone(),
    };
    config.validate()?;

    let mut bytes = tokio::fs::read(&template.path).await.map_err(|e| {
        tracing::error!(template = %template.name, error = %e, "cannot read a loader template");
        BuildError::Template
    })?;
    loader_config::write(&mut bytes, &config).map_err(|e| match e {
        RegionError::TooLarge { .. } => BuildError::TooLarge(e),
        _ => {
            tracing::error!(template = %template.name, error = %e, "a loader template changed since it was listed");
            BuildError::Template
        }
    })?;
    audit(state, by, "loader.build", Some(&app.id), Some(&template.name)).await;

    let suffix = if template.exe { ".exe" } else { "" };
    Ok(Built { file_name: format!("{}_loader{suffix}", loader_config::file_name_stem(&req.title)), bytes })
}

/// The template asked for, or the default: the host's, else the only one.
fn choose(found: &[Template], asked: Option<&str>) -> Result<Template, BuildError> {
    let names = || found.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
    if found.is_empty() {
        return Err(BuildError::NoTemplate);
    }
    let pick = match asked {
        Some(name) => found
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| BuildError::UnknownTemplate { name: name.to_owned(), available: names() })?,
        None => {
            let host = templates::host_name();
            match found.iter().find(|t| t.name == host || t.name == format!("{host}.exe")) {
                Some(t) => t,
                None if found.len() == 1 => &found[0],
                None => return Err(BuildError::TemplateAmbiguous { available: names() }),
            }
        }
    };
    Ok(pick.clone())
}
