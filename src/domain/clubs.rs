//! Partner clubs: where each stands with the programme.

/// Where a club stands with the programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum PartnershipStatus {
    /// Talking with the programme, no places yet.
    Prospect,
    Active,
    Paused,
    Ended,
}

super::text_enum!(PartnershipStatus {
    Prospect = "prospect",
    Active = "active",
    Paused = "paused",
    Ended = "ended",
});
