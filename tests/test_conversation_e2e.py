"""End to end through real processes: a greeting answered through the gateway and through Rasa itself."""
import pytest

from knowledge_base.textfold import has_diacritics

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("via", ["gateway", "rasa"])
def test_a_greeting_gets_a_vietnamese_reply(stack, via):
    sender = f"e2e-greet-{via}"
    replies = stack.say(sender, "xin chào", via=via)
    texts = [reply["text"] for reply in replies if reply.get("text")]
    assert texts, replies
    # The gateway addresses its replies to the citizen's own id, as Rasa does, not to Rasa's "rest:" id.
    assert {reply["recipient_id"] for reply in replies} == {sender}
    assert any(has_diacritics(text) for text in texts), texts  # Vietnamese with its marks, not a bare template name
