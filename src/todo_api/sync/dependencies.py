"""The sync domain's parts as routes get them."""

from typing import Annotated

from fastapi import Depends

from todo_api.core.state import provide
from todo_api.sync.broker import ChangeBroker
from todo_api.sync.horizon import ChangeHorizon
from todo_api.sync.tickets import TicketSigner

HorizonDep = Annotated[ChangeHorizon, Depends(provide(ChangeHorizon))]
BrokerDep = Annotated[ChangeBroker, Depends(provide(ChangeBroker))]
TicketsDep = Annotated[TicketSigner, Depends(provide(TicketSigner))]
