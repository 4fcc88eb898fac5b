"""The SDK's own exceptions. AWS errors are mapped to them with a message that says what to do next."""

from __future__ import annotations

from typing import Any


class MlopsSdkError(Exception):
    """Base of every error the SDK raises on purpose."""


class ConfigError(MlopsSdkError, ValueError):
    """The platform config, an override or an environment variable is missing or invalid (names what and where)."""


class EncryptedConfigError(ConfigError):
    """An encrypted config cannot be opened: wrong key, tampered or truncated file, missing key."""


class WrongKeyError(EncryptedConfigError):
    pass


class TamperedConfigError(EncryptedConfigError):
    pass


class MissingKeyError(EncryptedConfigError):
    pass


class OutputsError(ConfigError):
    """The stacks' outputs do not hold what a config needs (a stack not deployed, an outputs file of another stage)."""


class AwsOperationError(MlopsSdkError):
    """An AWS call failed; ``code`` is AWS's error code, ``operation`` the API called."""

    def __init__(self, message: str, *, operation: str, code: str = "") -> None:
        super().__init__(message)
        self.operation = operation
        self.code = code


class AccessDeniedError(AwsOperationError):
    pass


class NotFoundError(AwsOperationError):
    pass


class AlreadyExistsError(AwsOperationError):
    pass


class QuotaExceededError(AwsOperationError):
    pass


class ThrottledError(AwsOperationError):
    pass


class InvalidRequestError(AwsOperationError):
    pass


class CredentialsError(AwsOperationError):
    pass


class EndpointNotReadyError(AwsOperationError):
    pass


class SageMakerSdkMissingError(MlopsSdkError):
    pass


_BY_CODE: dict[str, tuple[type[AwsOperationError], str]] = {
    "AccessDenied": (
        AccessDeniedError,
        "your role may not do this: check which role you use (aws sts get-caller-identity), assume the stage's "
        "data-scientist or ML-engineer role, or ask the platform team; resources must carry the stage prefix",
    ),
    "AccessDeniedException": (AccessDeniedError, ""),
    "UnauthorizedOperation": (AccessDeniedError, ""),
    "ResourceNotFound": (
        NotFoundError,
        "check the name and region in the platform config (mlops config show --explain); "
        "the stack that creates it may not be deployed yet",
    ),
    "ResourceNotFoundException": (NotFoundError, ""),
    "ResourceInUse": (
        AlreadyExistsError,
        "a resource with this name already exists: pick another name or delete the old one first",
    ),
    "ResourceLimitExceeded": (
        QuotaExceededError,
        "an account quota is reached: stop idle jobs or endpoints, pick a smaller instance type, or request a "
        "quota increase (Service Quotas, SageMaker)",
    ),
    "ThrottlingException": (ThrottledError, "AWS is throttling calls: retry after a short wait"),
    "Throttling": (ThrottledError, ""),
    "ValidationException": (
        InvalidRequestError,
        "AWS rejected the request: check the parameters named in the message",
    ),
    "ConflictException": (AlreadyExistsError, ""),
    "ExpiredToken": (
        CredentialsError,
        "your AWS credentials expired: log in again (aws sso login, or refresh AWS_PROFILE's credentials)",
    ),
    "ExpiredTokenException": (CredentialsError, ""),
    "InvalidClientTokenId": (CredentialsError, ""),
    "UnrecognizedClientException": (CredentialsError, ""),
}


def _hint(code: str) -> str:
    cls, hint = _BY_CODE[code]
    if hint:
        return hint
    return next(h for c, (k, h) in _BY_CODE.items() if k is cls and h)


def map_client_error(error: Any, *, operation: str, resource: str = "") -> AwsOperationError:
    """The SDK exception for a botocore ``ClientError``: AWS's message, what was being done, and what to do."""
    details = getattr(error, "response", {}).get("Error", {})
    code = str(details.get("Code", ""))
    message = str(details.get("Message", "")) or str(error)
    what = f"{operation}" + (f" ({resource})" if resource else "")
    lowered = message.lower()
    if code == "ValidationException" and any(s in lowered for s in ("does not exist", "not found", "could not find")):
        code = "ResourceNotFound"  # SageMaker reports unknown pipelines and endpoints as validation errors
    if code in _BY_CODE:
        cls = _BY_CODE[code][0]
        return cls(f"{what} failed: {message} [{code}]. What to do: {_hint(code)}.", operation=operation, code=code)
    return AwsOperationError(f"{what} failed: {message} [{code or 'unknown error'}]", operation=operation, code=code)


def credentials_error(error: Exception, *, operation: str) -> CredentialsError:
    return CredentialsError(
        f"{operation} failed: no usable AWS credentials ({error}). What to do: set AWS_PROFILE or log in "
        "(aws sso login), and AWS_REGION if the config's region is not the one you want.",
        operation=operation,
        code="NoCredentials",
    )
