"""What the dashboard's forms send, checked like API input (a bad value is a 422 whose
message names the field, never the value)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from todosync.errors import ValidationFailed
from todosync.store.repository import MAX_ID
from todosync.sync.schemas import MAX_DELAY_SECONDS

__all__ = ["Resolve", "SyncAction", "parse"]

MAX_DELAY_MINUTES = MAX_DELAY_SECONDS // 60


class _Form(BaseModel):
    # lax: form values are strings ("5", "on"); unknown fields (the CSRF token) are ignored
    model_config = ConfigDict(extra="ignore", frozen=True)


FormT = TypeVar("FormT", bound=_Form)


class SyncAction(_Form):
    """One of the Actions page's syncs: now or later, everything or one list, real or dry."""

    delay_minutes: int = Field(default=0, ge=0, le=MAX_DELAY_MINUTES)
    list_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    dry_run: bool = False
    allow_mass_delete: bool = False
    restore_remote: bool = False

    @field_validator("delay_minutes", mode="before")
    @classmethod
    def _blank_is_now(cls, value: object) -> object:
        return 0 if value == "" else value

    @field_validator("list_id", mode="before")
    @classmethod
    def _blank_is_every_list(cls, value: object) -> object:
        return None if value == "" else value

    def as_query(self) -> dict[str, str]:
        """The same action as form fields (for the confirmation page's hidden inputs)."""
        fields = {"delay_minutes": str(self.delay_minutes)}
        if self.list_id is not None:
            fields["list_id"] = str(self.list_id)
        if self.dry_run:
            fields["dry_run"] = "true"
        if self.allow_mass_delete:
            fields["allow_mass_delete"] = "true"
        if self.restore_remote:
            fields["restore_remote"] = "true"
        return fields


class Resolve(_Form):
    """A conflict's resolution: keep one side, or set a value (text, or "true"/"false" for
    `completed`, which the form marks with `value_type=boolean`)."""

    choice: Literal["local", "remote", "value"]
    value: str | None = None
    value_type: Literal["text", "boolean"] = "text"

    def chosen_value(self) -> Any:
        if self.choice != "value":
            return None
        if self.value is None:
            raise ValidationFailed("value: enter the value to keep")
        if self.value_type == "boolean":
            if self.value not in ("true", "false"):
                raise ValidationFailed("value: completed must be true or false")
            return self.value == "true"
        return self.value


def parse(model: type[FormT], values: Mapping[str, Any]) -> FormT:
    """The form as `model`, or `ValidationFailed` naming each bad field."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        said = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValidationFailed(said) from None
