//! The kinds of hardware a device license can be bound to. Kept apart from [`crate::model`] so
//! that [`crate::error`] can name a device without depending on the model.

use crate::string_enum::string_enum;

string_enum!(DeviceType { Motherboard => "motherboard", Processor => "processor" });
