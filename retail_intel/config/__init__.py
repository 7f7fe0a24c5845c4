"""The YAML config directory: models, loading, validation and calendar arithmetic."""

from retail_intel.config.calendar import EventOccurrence, active_promotions, expand_events, shift_intervals
from retail_intel.config.loader import Config, config_to_yaml, load_config, validate_config, write_config
from retail_intel.config.models import Branch, Camera, Employee, Event, Holiday, Promotion, Task

__all__ = [
    "Branch",
    "Camera",
    "Config",
    "Employee",
    "Event",
    "EventOccurrence",
    "Holiday",
    "Promotion",
    "Task",
    "active_promotions",
    "config_to_yaml",
    "expand_events",
    "load_config",
    "shift_intervals",
    "validate_config",
    "write_config",
]
