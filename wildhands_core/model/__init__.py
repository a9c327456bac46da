"""The WildHands network (:class:`WildHandsNet`) and the full model, MANO + camera (:class:`WildHands`)."""

from wildhands_core.model.wildhands import WildHands
from wildhands_core.model.wildhands_net import WildHandsNet

__all__ = ["WildHands", "WildHandsNet"]
