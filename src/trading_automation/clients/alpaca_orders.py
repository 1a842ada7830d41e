"""Placing an Alpaca order without ever sending it twice blindly: `OrderSubmission.submit_order`
(mixed into `AlpacaClient`), the lookup by `client_order_id` that settles an unknown outcome, and
the errors that say what is known."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx
import structlog

from trading_automation.clients.alpaca_params import Side, order_payload
from trading_automation.clients.errors import (
    ApiError,
    InsufficientBuyingPowerError,
    InsufficientQuantityError,
    NotFoundError,
    OrderOutcomeUnknownError,
    RateLimitedError,
    ServiceUnavailableError,
    UnexpectedResponseError,
    ValidationRefusedError,
)
from trading_automation.clients.http import JsonHttp, RequestOutcomeUnknown, RetryPolicy
from trading_automation.domain.orders import AlpacaOrder

log = structlog.get_logger(__name__)

SERVICE = "alpaca"


class OrderSubmission:
    """Order submission for a client that has `base_url`, `retry`, `_http`, `_order` (read an
    order from a body) and `get_order_by_client_order_id`."""

    base_url: str
    retry: RetryPolicy
    _http: JsonHttp

    def _order(self, body: Any, path: str, method: str = "GET") -> AlpacaOrder:
        raise NotImplementedError

    def get_order_by_client_order_id(self, client_order_id: str) -> AlpacaOrder:
        """The order placed with `client_order_id`; `NotFoundError` when there is none."""
        raise NotImplementedError

    def submit_order(
        self,
        *,
        symbol: str,
        client_order_id: str,
        notional: Decimal | int | str | None = None,
        qty: Decimal | int | str | None = None,
        side: Side = "buy",
    ) -> AlpacaOrder:
        """Place a market DAY buy for `notional` dollars or `qty` shares, or with `side="sell"` a
        market DAY sell of `qty` shares (fractional allowed); return the order.

        The order is never sent twice blindly. When the outcome of the POST is unknown (timeout,
        dropped connection, 5xx, unreadable answer), the order is looked up by `client_order_id`
        (a retried GET) and returned if it exists; only when Alpaca says it does not (404) is it
        sent again. Sending again is safe because Alpaca refuses a second order with the same
        `client_order_id` (422), so at most one order can ever be accepted for it; that 422
        resolves to the existing order too.

        Besides the order, the outcomes are: a refusal (`ValidationRefusedError`,
        `InsufficientBuyingPowerError`, `InsufficientQuantityError`, `AuthenticationError`:
        nothing placed);
        `ServiceUnavailableError` or `RateLimitedError` when no request can have placed it; and
        `OrderOutcomeUnknownError` when one may have and the lookup could not tell.
        """
        payload = order_payload(symbol, client_order_id, notional, qty, side)
        last_reason = ""  # set once an earlier submission's outcome was unknown
        for submission in range(1, self.retry.max_attempts + 1):
            refused: ApiError | None = None
            try:
                return self._post_order(payload, last_reason)
            except (InsufficientBuyingPowerError, InsufficientQuantityError) as error:
                # An earlier submission's order, if placed, holds the money or shares this one
                # was refused for: only the lookup below can tell the refusal is final.
                if not last_reason:
                    raise
                refused = error
            except RequestOutcomeUnknown as unknown:
                last_reason = unknown.reason
                log.warning(
                    "order_outcome_unknown",
                    client_order_id=client_order_id,
                    symbol=payload["symbol"],
                    side=side,
                    submission=submission,
                    reason=unknown.reason,
                )
            try:
                return self._existing_order(payload)
            except NotFoundError:
                if refused is not None:
                    raise refused from None
                log.warning(
                    "order_not_placed",
                    client_order_id=client_order_id,
                    submission=submission,
                    will_resend=submission < self.retry.max_attempts,
                )
            except ValidationRefusedError:
                raise  # the client_order_id belongs to another order: ours was not placed
            except ApiError as lookup_error:
                raise self._outcome_unknown(
                    payload, f"{last_reason}; then the lookup failed: {lookup_error}"
                ) from lookup_error
        raise self._outcome_unknown(
            payload,
            f"{self.retry.max_attempts} submissions without an answer ({last_reason}); "
            "not found by client_order_id yet",
        )

    def _post_order(self, payload: Mapping[str, str], last_reason: str) -> AlpacaOrder:
        # One POST: the order placed, or the one its client_order_id already names (a repeat).
        path = "/v2/orders"
        try:
            response = self._http.request(
                "POST", self.base_url + path, path=path, body=payload, idempotent=False
            )
            return self._order_from(response, path)
        except ValidationRefusedError as error:
            if not error.is_duplicate_client_order_id:
                raise
            log.info("order_already_exists", client_order_id=payload["client_order_id"])
            try:
                existing = self._existing_order(payload, cause=error)
            except (ServiceUnavailableError, RateLimitedError) as lookup_error:
                raise self._outcome_unknown(
                    payload, f"already placed, but the lookup failed: {lookup_error}"
                ) from lookup_error
            # Refused as a repeat on the first try: an earlier run placed it, not this call.
            return existing.marked_placed_before() if not last_reason else existing
        except (ServiceUnavailableError, RateLimitedError) as error:
            # Surely not placed by this request; but an earlier one may have been.
            if last_reason:
                raise self._outcome_unknown(
                    payload, f"{last_reason}; then resending failed: {error}"
                ) from error
            raise

    def _order_from(self, response: httpx.Response, path: str) -> AlpacaOrder:
        # The order was accepted (2xx) but an unreadable answer leaves its details unknown.
        try:
            return self._order(self._http.json(response, path=path), path, method="POST")
        except UnexpectedResponseError as error:
            raise RequestOutcomeUnknown(f"unreadable answer: {error.summary}") from error

    def _existing_order(
        self, payload: Mapping[str, str], *, cause: ApiError | None = None
    ) -> AlpacaOrder:
        order = self.get_order_by_client_order_id(payload["client_order_id"])
        side = (order.side or "buy").lower()
        if order.symbol.upper() != payload["symbol"] or side != payload["side"]:
            raise ValidationRefusedError(
                f"client_order_id {payload['client_order_id']!r} already belongs to a "
                f"{side} order for {order.symbol} (id {order.id}), not this "
                f"{payload['symbol']} {payload['side']}",
                service=SERVICE,
                method="POST",
                path="/v2/orders",
                status_code=cause.status_code if cause else None,
                code=cause.code if cause else None,
                api_message=cause.api_message if cause else None,
                request_id=cause.request_id if cause else None,
            )
        return order

    def _outcome_unknown(self, payload: Mapping[str, str], reason: str) -> OrderOutcomeUnknownError:
        error = OrderOutcomeUnknownError(
            f"outcome of {payload['side']} order {payload['client_order_id']!r} "
            f"({payload['symbol']}) unknown: {reason}",
            service=SERVICE,
            method="POST",
            path="/v2/orders",
        )
        error.client_order_id = payload["client_order_id"]
        return error
