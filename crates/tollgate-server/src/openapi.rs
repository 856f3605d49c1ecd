//! Completes the OpenAPI document after the routes have added their operations: every status a
//! route can answer is listed, with the error body's schema, whether or not its annotation
//! spells it out. The statuses follow from what the route is made of:
//!
//! - a security requirement (the seller's bearer token): 401;
//! - a request body: 400 (invalid field, named) and 413 (over `max_body_bytes`);
//! - query parameters: 400;
//! - path parameters: 404 (absent, or another seller's);
//! - any route that reads the database: 503 when it is unavailable;
//! - the client API (`/api/v2/*`): every status of its error table ([`codes::STATUSES`]).

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response};

use crate::dialect::authly::codes;

/// The name of the error body's schema in `components.schemas`.
const ERROR_SCHEMA: &str = "Error";
/// The name of the admin API's generic success body in `components.schemas`.
const SUCCESS_SCHEMA: &str = "Success";

/// `{success: true, message?, data?, pagination?}`: the admin API's success answer, for the
/// operations whose annotation does not name the type of `data`.
fn success_schema() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .description(Some("Every admin API success answer: `{success: true}` with `data`, a `message`, or both."))
            .property("success", ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([true])))
            .property("message", ObjectBuilder::new().schema_type(Type::String).description(Some("For people")))
            .property(
                "data",
                ObjectBuilder::new()
                    .schema_type(SchemaType::AnyValue)
                    .description(Some("The object or list asked for")),
            )
            .property(
                "pagination",
                ObjectBuilder::new().schema_type(Type::Object).description(Some(
                    "Listings: `{page, limit, total}`, and `nextCursor` where a listing can be walked by cursor",
                )),
            )
            .required("success")
            .build(),
    )
}

fn error_schema() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .description(Some(
                "Every error answer: `{success: false, code, message}` (client API errors may add fields).",
            ))
            .property("success", ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([false])))
            .property("code", ObjectBuilder::new().schema_type(Type::String).description(Some("Machine-readable")))
            .property("message", ObjectBuilder::new().schema_type(Type::String).description(Some("For people")))
            .required("success")
            .required("code")
            .required("message")
            .build(),
    )
}

/// What an undocumented status means, for the response's description.
fn description(status: u16) -> &'static str {
    match status {
        400 => "Invalid input: the field is named in `message`",
        401 => "Missing, invalid or expired credentials",
        403 => "Refused by a rule of the app, key, user or device",
        404 => "Absent, or not yours",
        409 => "Already taken",
        413 => "Request body too large",
        426 => "This client version is refused",
        429 => "Too many requests; `Retry-After` says how long to wait",
        503 => "Service temporarily unavailable",
        _ => "Error",
    }
}

/// The statuses an admin or seller operation can answer besides its own annotations.
fn admin_statuses(op: &Operation) -> Vec<u16> {
    let params = op.parameters.as_deref().unwrap_or_default();
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
    let has_body = op.request_body.is_some();
    let mut statuses = Vec::new();
    if has_body || has_query {
        statuses.push(400);
    }
    if secured {
        statuses.push(401);
    }
    if has_path {
        statuses.push(404);
    }
    if has_body {
        statuses.push(413);
    }
    statuses.push(503);
    statuses
}

fn complete(op: &mut Operation, extra: &[u16], admin: bool) {
    let error = || Content::new(Some(RefOr::<Schema>::Ref(Ref::from_schema_name(ERROR_SCHEMA))));
    let success = || Content::new(Some(RefOr::<Schema>::Ref(Ref::from_schema_name(SUCCESS_SCHEMA))));
    for status in extra {
        op.responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(Response::new(description(*status))));
    }
    // Every error answer, annotated or added, carries the error body.
    for (status, response) in op.responses.responses.iter_mut() {
        let is_error = status.parse::<u16>().is_ok_and(|s| s >= 400);
        if let (true, RefOr::T(response)) = (is_error, &mut *response) {
            if response.content.is_empty() {
                response.content.insert("application/json".into(), error());
            }
        }
        // An admin success answer with no type named is the generic success body.
        let is_success = status.parse::<u16>().is_ok_and(|s| (200..300).contains(&s));
        if let (true, true, RefOr::T(response)) = (admin, is_success, response) {
            if response.content.is_empty() {
                response.content.insert("application/json".into(), success());
            }
        }
    }
}

/// Add the statuses and the error schema to every operation of `doc`.
pub fn complete_responses(doc: &mut OpenApi) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.insert(ERROR_SCHEMA.into(), RefOr::T(error_schema()));
    components.schemas.insert(SUCCESS_SCHEMA.into(), RefOr::T(success_schema()));
    for (path, item) in doc.paths.paths.iter_mut() {
        let client = path.starts_with("/api/v2/");
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.options,
            &mut item.head,
            &mut item.patch,
            &mut item.trace,
        ]
        .into_iter()
        .flatten()
        {
            let extra = if client { codes::STATUSES.to_vec() } else { admin_statuses(op) };
            complete(op, &extra, path.starts_with("/v1/"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bearer_operation_documents_401_and_errors_have_a_schema() {
        let (_, mut doc) = utoipa_axum::router::OpenApiRouter::<crate::state::AppState>::new()
            .merge(crate::admin::router())
            .split_for_parts();
        complete_responses(&mut doc);
        let mut secured = 0;
        for item in doc.paths.paths.values() {
            for op in [&item.get, &item.put, &item.post, &item.delete, &item.patch].into_iter().flatten() {
                if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                    secured += 1;
                    assert!(op.responses.responses.contains_key("401"), "{:?}", op.operation_id);
                }
                for (status, r) in &op.responses.responses {
                    if let (true, RefOr::T(r)) = (status.as_str() >= "400", r) {
                        assert!(r.content.contains_key("application/json"), "{:?} {status}", op.operation_id);
                    }
                }
            }
        }
        assert!(secured > 60, "{secured}");
    }
}
