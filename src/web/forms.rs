//! Form and query fields, read as the text that was typed, and the errors shown next to
//! them. Inputs carry the API's JSON field names.

use std::collections::BTreeMap;

use poem::{FromRequest, Request, RequestBody};
use serde::Serialize;

use super::PageError;
use crate::domain::FieldError;
use crate::ops::OpError;

/// A form is a few fields: more is not a form.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The fields of a posted form (`application/x-www-form-urlencoded`) or of a query.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fields(BTreeMap<String, String>);

impl Fields {
    pub fn parse(text: &str) -> Self {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text).unwrap_or_default();
        Self(pairs.into_iter().collect())
    }

    pub fn query(request: &Request) -> Self {
        Self::parse(request.uri().query().unwrap_or(""))
    }

    /// The value as typed ("" when absent).
    pub fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }

    /// The value trimmed, `None` when blank.
    pub fn opt(&self, name: &str) -> Option<String> {
        let value = self.get(name).trim();
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// A ticked checkbox.
    pub fn ticked(&self, name: &str) -> bool {
        matches!(self.get(name), "true" | "on" | "1")
    }

    /// `self` with what `typed` holds written over it: a form shown again keeps what
    /// was typed in it, and the page's other forms keep their own values.
    pub fn overlaid(mut self, typed: &Fields) -> Self {
        for (name, value) in &typed.0 {
            self.0.insert(name.clone(), value.clone());
        }
        self
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_owned(), value.into());
    }
}

impl<'a> FromRequest<'a> for Fields {
    async fn from_request(request: &'a Request, body: &mut RequestBody) -> poem::Result<Self> {
        let is_form = request
            .content_type()
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        let bytes = body.take()?.into_bytes_limit(MAX_FORM_BYTES).await;
        match bytes {
            Ok(bytes) if is_form || bytes.is_empty() => {
                Ok(Self::parse(&String::from_utf8_lossy(&bytes)))
            }
            _ => Err(PageError::Conflict("this form could not be read".into()).into()),
        }
    }
}

/// Messages by field, shown next to the inputs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Errors(BTreeMap<String, String>);

impl Errors {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn add(&mut self, error: FieldError) {
        self.0.entry(error.field).or_insert(error.message);
    }

    /// The field error of an operation; anything else stays an error of the page.
    pub fn from_op(error: OpError) -> Result<Self, PageError> {
        match error {
            OpError::Invalid(field) => {
                let mut errors = Self::default();
                errors.add(field);
                Ok(errors)
            }
            other => Err(other.into()),
        }
    }
}
