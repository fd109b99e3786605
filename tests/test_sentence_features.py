"""Our featurizer and intent classifier against Rasa's stock ones: same features read, same intents, same confidences."""
from __future__ import annotations

import numpy as np
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu.intent_classifier import SentenceLogisticRegressionClassifier
from nlu.sentence_features import SentenceCountVectorsFeaturizer
from nlu.tokenizer import VietnameseTokenizer

FEATURIZERS = [{"min_ngram": 1, "max_ngram": 2}, {"analyzer": "char_wb", "min_ngram": 2, "max_ngram": 5}]
CLASSIFIER = {"max_iter": 300, "solver": "lbfgs"}
QUESTIONS = ["le phi lam ho chieu bn", "Cấp lại CCCD cần giấy tờ gì?", "tra cứu hồ sơ 000.00.04.H49-240315-0012",
             "tôi muốn khiếu nại", "cảm ơn", "", "???", "gplx het han doi o dau"]


def _tokenize(texts: list[str]) -> list[Message]:
    tokenizer = VietnameseTokenizer({**VietnameseTokenizer.get_default_config(), "segmenter": "syllable"}, None, None)
    messages = [Message(data={TEXT: text}) for text in texts]
    tokenizer.process(messages)
    return messages


def _pipeline(featurizer_class, classifier_class, storage, training: TrainingData):
    """Featurizers and classifier, trained in order on their own copy of the training messages."""
    context = ExecutionContext(GraphSchema({}), "test")
    featurizers = []
    for number, config in enumerate(FEATURIZERS):
        featurizer = featurizer_class.create({**featurizer_class.get_default_config(), **config}, storage,
                                             Resource(f"{featurizer_class.__name__}{number}"), context)
        featurizer.train(training)
        featurizer.process_training_data(training)
        featurizers.append(featurizer)
    classifier = classifier_class.create({**classifier_class.get_default_config(), **CLASSIFIER}, storage,
                                         Resource(classifier_class.__name__), context)
    classifier.train(training)
    return featurizers, classifier


def _training() -> TrainingData:
    data = load_data("data/nlu.yml")
    messages = _tokenize([example.get(TEXT) for example in data.intent_examples])
    for message, example in zip(messages, data.intent_examples):
        message.set("intent", example.get("intent"))
    return TrainingData(messages)


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("models"))
    return (_pipeline(CountVectorsFeaturizer, LogisticRegressionClassifier, storage, _training()),
            _pipeline(SentenceCountVectorsFeaturizer, SentenceLogisticRegressionClassifier, storage, _training()))


def _run(pipeline, texts: list[str]) -> list[Message]:
    featurizers, classifier = pipeline
    messages = _tokenize(texts)
    for featurizer in featurizers:
        featurizer.process(messages)
    return classifier.process(messages)


def _features(message: Message, kind: str) -> list:
    return [f.features for f in message.features if f.attribute == TEXT and f.type == kind]


def test_same_sentence_features_and_no_sequence_features(pipelines):
    stock, ours = (_run(pipeline, QUESTIONS) for pipeline in pipelines)
    for theirs, mine in zip(stock, ours):
        expected, got = _features(theirs, FEATURE_TYPE_SENTENCE), _features(mine, FEATURE_TYPE_SENTENCE)
        assert len(got) == len(expected) == len(_features(theirs, FEATURE_TYPE_SEQUENCE)) == 2
        assert _features(mine, FEATURE_TYPE_SEQUENCE) == []
        for a, b in zip(expected, got):
            assert a.shape == b.shape and (a.tocsr() != b.tocsr()).nnz == 0


def test_same_intents_and_confidences_as_rasas_classifier(pipelines):
    stock, ours = (_run(pipeline, QUESTIONS) for pipeline in pipelines)
    for theirs, mine in zip(stock, ours):
        expected, got = theirs.get("intent_ranking"), mine.get("intent_ranking")
        assert [item["name"] for item in got] == [item["name"] for item in expected], theirs.get(TEXT)
        assert np.allclose([item["confidence"] for item in got], [item["confidence"] for item in expected], atol=1e-12)
    assert ours[0].get("intent")["name"] == "ask_fee"


def test_matrix_is_rasas_for_the_same_messages(pipelines):
    messages = _run(pipelines[1], QUESTIONS[:5])
    classifier = pipelines[1][1]
    mine = classifier._create_X(messages)
    theirs = LogisticRegressionClassifier._create_X(classifier, messages)
    assert mine.shape == theirs.shape and (mine != theirs.tocsr()).nnz == 0
