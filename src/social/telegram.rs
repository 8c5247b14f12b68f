//! Placeholder: the telegram adapter is being written.
