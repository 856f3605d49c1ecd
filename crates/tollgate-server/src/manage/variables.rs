//! App variables: list, create, change, delete.

use tollgate_core::model::AppVariable;
use tollgate_core::time::now;
use tollgate_core::{ids, rules};
use tollgate_store::VariablePatch;

use super::{audit, Actor, ManageError, ManageResult};
use crate::state::AppState;

/// The app's variables, sorted by key.
pub async fn list(state: &AppState, app_id: &str) -> ManageResult<Vec<AppVariable>> {
    Ok(state.store.list_variables(app_id).await?)
}

/// Create an app variable.
pub async fn create(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    key: &str,
    value: String,
    read_only: bool,
    auth_required: bool,
) -> ManageResult<AppVariable> {
    let key = rules::variable_key("key", key)?;
    rules::variable_value("value", &value)?;
    let t = now();
    let var = AppVariable {
        id: ids::new_id(ids::prefix::VARIABLE),
        app_id: app_id.to_owned(),
        key,
        value,
        read_only,
        auth_required,
        created_at: t,
        updated_at: t,
    };
    state.store.create_variable(&var).await?;
    state.invalidate_variables(app_id).await;
    audit(state, by, "variable.create", Some(app_id), Some(&var.key)).await;
    Ok(var)
}

/// Change a variable's value or flags.
pub async fn update(
    state: &AppState,
    by: &Actor,
    app_id: &str,
    key: &str,
    patch: VariablePatch,
) -> ManageResult<AppVariable> {
    if let Some(v) = &patch.value {
        rules::variable_value("value", v)?;
    }
    let var =
        state.store.update_variable(app_id, key, &patch, now()).await?.ok_or(ManageError::NotFound("Variable"))?;
    state.invalidate_variables(app_id).await;
    audit(state, by, "variable.update", Some(app_id), Some(&var.key)).await;
    Ok(var)
}

/// Delete a variable.
pub async fn delete(state: &AppState, by: &Actor, app_id: &str, key: &str) -> ManageResult<()> {
    if !state.store.delete_variable(app_id, key).await? {
        return Err(ManageError::NotFound("Variable"));
    }
    state.invalidate_variables(app_id).await;
    audit(state, by, "variable.delete", Some(app_id), Some(key)).await;
    Ok(())
}
