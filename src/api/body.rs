//! Request bodies: a size limit for every request, and field-level answers for JSON
//! bodies that do not fit the operation's schema.
//!
//! poem-openapi reports a missing or mistyped field without naming it. The body is
//! buffered here (it is bounded anyway) so that, when parsing fails, the body can be
//! checked against the operation's published OpenAPI schema and the answer can name the
//! field, as the API promises.

use std::sync::Arc;

use poem::error::ReadBodyError;
use poem::http::StatusCode;
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::error::ParseRequestPayloadError;
use serde_json::Value;

use super::error::{ApiError, Problem};
use super::MAX_BODY_BYTES;

/// The OpenAPI document, to find the schema of an operation's body.
#[derive(Clone)]
pub struct Schemas(Arc<Value>);

impl Schemas {
    pub fn new(spec_json: &str) -> Self {
        Self(Arc::new(
            serde_json::from_str(spec_json).unwrap_or(Value::Null),
        ))
    }

    fn request_schema(&self, operation_id: &str) -> Option<&Value> {
        let paths = self.0.get("paths")?.as_object()?;
        let operation = paths
            .values()
            .filter_map(Value::as_object)
            .flat_map(|methods| methods.values())
            .find(|op| op.get("operationId").and_then(Value::as_str) == Some(operation_id))?;
        let content = operation.get("requestBody")?.get("content")?.as_object()?;
        content.values().next()?.get("schema")
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => reference
                .strip_prefix("#/components/schemas/")
                .and_then(|name| self.0.get("components")?.get("schemas")?.get(name))
                .unwrap_or(schema),
            // poem-openapi wraps a described reference as `allOf: [{$ref}, {description}]`.
            None => match schema.get("allOf").and_then(Value::as_array) {
                Some(parts) => parts
                    .iter()
                    .find(|part| part.get("$ref").is_some() || part.get("type").is_some())
                    .map_or(schema, |part| self.resolve(part)),
                None => schema,
            },
        }
    }

    /// The first field of `value` that does not fit `schema`, and why.
    fn first_misfit(&self, schema: &Value, value: &Value, path: &str) -> Option<(String, String)> {
        let schema = self.resolve(schema);
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            return (!allowed.contains(value)).then(|| {
                let names: Vec<String> = allowed
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                (
                    path.to_owned(),
                    format!("must be one of {}", names.join(", ")),
                )
            });
        }
        let kind = schema
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("object");
        let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
        let wrong = |expected: &str| {
            Some((
                path.to_owned(),
                format!("expected {expected}, found {value}"),
            ))
        };
        match kind {
            "object" => {
                let Some(object) = value.as_object() else {
                    return wrong("an object");
                };
                let required = schema.get("required").and_then(Value::as_array);
                for name in required.into_iter().flatten().filter_map(Value::as_str) {
                    if object.get(name).is_none_or(Value::is_null) {
                        return Some((join(path, name), "is required".into()));
                    }
                }
                let properties = schema.get("properties").and_then(Value::as_object)?;
                object.iter().find_map(|(name, field)| {
                    let field_schema = properties.get(name)?;
                    if field.is_null() {
                        return None;
                    }
                    self.first_misfit(field_schema, field, &join(path, name))
                })
            }
            "array" => {
                let Some(items) = value.as_array() else {
                    return wrong("a list");
                };
                let item_schema = schema.get("items")?;
                items.iter().enumerate().find_map(|(i, item)| {
                    self.first_misfit(item_schema, item, &format!("{path}[{i}]"))
                })
            }
            "integer" => match value.as_i64() {
                Some(n) if format != "int32" || i32::try_from(n).is_ok() => None,
                _ => wrong("a whole number"),
            },
            "number" => value
                .as_f64()
                .is_none()
                .then(|| wrong("a number"))
                .flatten(),
            "boolean" => value
                .as_bool()
                .is_none()
                .then(|| wrong("true or false"))
                .flatten(),
            "string" => match value.as_str() {
                None => wrong("a string"),
                Some(text) => string_misfit(format, text).map(|why| (path.to_owned(), why)),
            },
            _ => None,
        }
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn string_misfit(format: &str, text: &str) -> Option<String> {
    let fits = match format {
        "uuid" => uuid::Uuid::parse_str(text).is_ok(),
        "naive-date-time" => text.parse::<chrono::NaiveDateTime>().is_ok(),
        "naive-date" => text.parse::<chrono::NaiveDate>().is_ok(),
        "date-time" => chrono::DateTime::parse_from_rfc3339(text).is_ok(),
        _ => true,
    };
    let example = match format {
        "uuid" => "an id such as 0b6f6f0e-5a9b-4c38-9a4e-0d3c1f7e2a10",
        "naive-date-time" => "a local date and time such as 2026-03-10T18:30:00",
        "naive-date" => "a date such as 2026-03-10",
        "date-time" => "an RFC 3339 time such as 2026-03-10T18:30:00+01:00",
        _ => "",
    };
    (!fits).then(|| format!("{text:?} is not {example}"))
}

/// Middleware: bounds every body to [`MAX_BODY_BYTES`] and names the field at fault
/// when a JSON body does not fit its operation.
pub async fn guard<E: Endpoint>(next: E, mut request: Request) -> poem::Result<Response> {
    let declared = request
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Ok(too_large());
    }
    let is_json = request
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let chunked = declared.is_none() && request.headers().contains_key("transfer-encoding");
    let buffered = if is_json || chunked {
        match request.take_body().into_bytes_limit(MAX_BODY_BYTES).await {
            Ok(bytes) => {
                request.set_body(bytes.clone());
                Some(bytes)
            }
            Err(ReadBodyError::PayloadTooLarge) => return Ok(too_large()),
            Err(error) => return Err(error.into()),
        }
    } else {
        None
    };
    let schemas = request.data::<Schemas>().cloned();
    match next.call(request).await {
        Ok(response) => Ok(response.into_response()),
        Err(error) if error.is::<ParseRequestPayloadError>() => {
            let operation = error.data::<poem_openapi::OperationId>().map(|id| id.0);
            let misfit = schemas
                .zip(operation)
                .zip(buffered.and_then(|b| serde_json::from_slice::<Value>(&b).ok()))
                .and_then(|((schemas, operation), body)| {
                    let schema = schemas.request_schema(operation)?;
                    schemas.first_misfit(schema, &body, "")
                });
            match misfit {
                Some((field, why)) => Ok(ApiError::invalid(field, why).into_response()),
                None => Err(error),
            }
        }
        Err(error) => Err(error),
    }
}

fn too_large() -> Response {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "about:blank",
        format!("the request body exceeds {} bytes (1 MiB)", MAX_BODY_BYTES),
    )
    .into_response()
}
