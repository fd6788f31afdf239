"""`AlertDestination`: a Databricks notification destination whose secrets never touch config.

Why sensitive variables: a Slack/Teams URL or a PagerDuty key is a credential. The construct
only accepts the *name* of a Terraform variable (declared `sensitive = true`), so the value comes
from the pipeline's secret store as TF_VAR_<name> at deploy time and is never written to YAML or
to the synthesized JSON. `local_url` in config is for the embedded default and ignored here.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import TerraformVariable
from cdktf_cdktf_provider_databricks.notification_destination import NotificationDestination

from constructs import Construct

from ..config.model import EmailDestination, SecretDestination
from ..config.validators import check_identifier
from ..errors import LakemonConstructError
from ..variables import stack_variable

KINDS = ("email", "slack", "microsoft_teams", "pagerduty", "webhook")
# config kind -> (destination_type, config block, attribute that holds the secret)
_SECRET_FIELD = {
    "slack": ("SLACK", "slack", "url"),
    "microsoft_teams": ("MICROSOFT_TEAMS", "microsoft_teams", "url"),
    "pagerduty": ("PAGERDUTY", "pagerduty", "integration_key"),
    "webhook": ("WEBHOOK", "generic_webhook", "url"),
}


def sensitive_variable(scope: Construct, name: str, description: str) -> TerraformVariable:
    """Get or declare the stack-level sensitive string variable `name`."""
    return stack_variable(scope, name, sensitive=True, description=description)


class AlertDestination(Construct):
    """`databricks_notification_destination` for e-mail, Slack, Teams, PagerDuty or a webhook.

    Example::

        AlertDestination(stack, "oncall", display_name="ml-oncall", kind="slack",
                         secret_variable="slack_oncall_url")       # TF_VAR_slack_oncall_url
        AlertDestination(stack, "team", display_name="ml-team", kind="email",
                         addresses=["ml-team@example.com"])

    Props: display_name, kind (email|slack|microsoft_teams|pagerduty|webhook), addresses (email),
    secret_variable (URL or integration key; every other kind), username_variable and
    password_variable (webhook basic auth only). `destination_id` is what alerts subscribe to.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        display_name: str,
        kind: str,
        addresses: Sequence[str] = (),
        secret_variable: str | None = None,
        username_variable: str | None = None,
        password_variable: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        path = self.node.path
        if kind not in KINDS:
            raise LakemonConstructError(path, f"kind {kind!r} is not allowed; allowed: {', '.join(KINDS)}")
        if not display_name.strip():
            raise LakemonConstructError(path, "display_name must not be empty")
        self.kind = kind
        self.display_name = display_name
        if kind == "email":
            if not addresses:
                raise LakemonConstructError(path, "an email destination needs at least one address")
            if secret_variable or username_variable or password_variable:
                raise LakemonConstructError(
                    path, "an email destination takes addresses, not secret variables"
                )
            config = {"email": {"addresses": list(addresses)}}
            destination_type = "EMAIL"
        else:
            if addresses:
                raise LakemonConstructError(
                    path, f"a {kind} destination takes secret_variable, not addresses"
                )
            if not secret_variable:
                raise LakemonConstructError(
                    path,
                    f"a {kind} destination needs secret_variable: the name of a sensitive Terraform variable "
                    "holding its URL or key (never the value itself)",
                )
            if (username_variable or password_variable) and kind != "webhook":
                raise LakemonConstructError(
                    path, "username_variable/password_variable are for webhook destinations only"
                )
            for variable in (secret_variable, username_variable, password_variable):
                if variable is not None:
                    try:
                        check_identifier(variable)
                    except ValueError as exc:
                        raise LakemonConstructError(path, f"variable name: {exc}") from None
            destination_type, block, field = _SECRET_FIELD[kind]
            values = {
                field: sensitive_variable(
                    self, secret_variable, f"{kind} {field} of {display_name}"
                ).string_value
            }
            if username_variable:
                values["username"] = sensitive_variable(
                    self, username_variable, f"webhook user of {display_name}"
                ).string_value
            if password_variable:
                values["password"] = sensitive_variable(
                    self, password_variable, f"webhook password of {display_name}"
                ).string_value
            config = {block: values}
        self.destination = NotificationDestination(
            self, "destination", display_name=display_name, destination_type=destination_type, config=config
        )

    @property
    def destination_id(self) -> str:
        return self.destination.id

    @classmethod
    def from_config(
        cls, scope: Construct, id: str, destination: EmailDestination | SecretDestination
    ) -> AlertDestination:
        """From an `alerts.destinations` entry; `local_url` is deliberately not used."""
        if isinstance(destination, EmailDestination):
            return cls(
                scope, id, display_name=destination.name, kind="email", addresses=destination.addresses
            )
        return cls(
            scope,
            id,
            display_name=destination.name,
            kind=destination.type,
            secret_variable=destination.secret_variable,
            username_variable=destination.username_variable,
            password_variable=destination.password_variable,
        )
