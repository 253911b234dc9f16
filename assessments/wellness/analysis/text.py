"""Text analysis of a check-in answer: sentiment, emotional tone, cognitive and linguistic markers,
a text wellness score (002's sentiment_analysis / cognitive_markers / linguistic_patterns shapes).

Sentiment follows VADER's published rules (Hutto & Gilbert 2014, MIT): a valence lexicon,
booster words (±0.293), negation within three words (×−0.74), contrast after "but" (before ×0.5,
after ×1.5), capitals for emphasis (+0.733), exclamation marks (+0.292 each, up to 4), and the
compound normalised as x/√(x²+15). The `vaderSentiment` package is NOT installed in this
environment, so the lexicon below is our own small one (about 250 words, valences on VADER's −4..+4
scale, chosen for how people describe their week); swapping in the package is one import once it is
approved. Absolutist words are Al-Mosaiwi & Johnstone's (2018) list; first-person-singular rate is
the pronoun marker of Rude et al. (2004). Pure Python: runs offline, in well under a millisecond per
hundred words.
"""

from __future__ import annotations

import math
import re
from collections import Counter

LEXICON: dict[str, float] = {
    # positive
    "good": 1.9, "great": 3.1, "happy": 2.7, "happier": 2.4, "glad": 2.0, "calm": 1.3, "relaxed": 1.9,
    "rested": 1.5, "better": 1.9, "best": 3.2, "fine": 0.8, "okay": 0.9, "ok": 0.9, "hopeful": 2.3,
    "hope": 1.9, "love": 3.2, "loved": 2.9, "enjoy": 2.2, "enjoyed": 2.3, "fun": 2.3, "grateful": 2.5,
    "thankful": 2.3, "proud": 2.1, "excited": 2.4, "peaceful": 2.2, "energized": 2.0, "energetic": 1.9,
    "motivated": 1.8, "strong": 1.6, "nice": 1.8, "wonderful": 2.7, "amazing": 2.8, "positive": 2.3,
    "confident": 2.2, "laugh": 2.4, "laughed": 2.3, "smile": 2.0, "smiled": 2.0, "content": 1.5,
    "productive": 1.8, "supported": 1.8, "support": 1.7, "connected": 1.4, "improving": 1.6, "improved": 1.9,
    "progress": 1.5, "accomplished": 1.9, "refreshed": 2.0, "well": 1.1, "safe": 1.6, "comfortable": 1.6,
    "friends": 1.7, "friend": 1.6, "beautiful": 2.9, "helpful": 1.7, "helped": 1.6, "lucky": 2.0,
    "optimistic": 2.3, "joy": 2.8, "cheerful": 2.5, "fantastic": 2.9, "excellent": 3.0, "easy": 1.5,
    "managed": 0.9, "coping": 0.8, "balanced": 1.5, "focused": 1.3, "healthy": 1.9, "active": 1.2,
    "sleep well": 1.8, "slept well": 1.8,
    # negative
    "bad": -2.5, "sad": -2.1, "sadness": -1.9, "unhappy": -1.8, "depressed": -2.3, "depressing": -1.9,
    "down": -1.0, "low": -1.1, "tired": -1.2, "exhausted": -1.8, "drained": -1.6, "fatigue": -1.5,
    "fatigued": -1.5, "stress": -1.8, "stressed": -1.9, "stressful": -2.0, "anxious": -1.9, "anxiety": -1.9,
    "worried": -1.9, "worry": -1.8, "worrying": -1.9, "nervous": -1.6, "panic": -2.4, "scared": -2.1,
    "afraid": -2.0, "fear": -2.2, "angry": -2.3, "anger": -2.3, "mad": -2.0, "frustrated": -2.0,
    "irritable": -1.8, "annoyed": -1.6, "upset": -1.9, "lonely": -2.0, "alone": -1.0, "isolated": -1.8,
    "hopeless": -2.8, "helpless": -2.2, "worthless": -2.7, "useless": -2.0, "failure": -2.4, "failed": -2.1,
    "guilty": -1.9, "guilt": -1.9, "ashamed": -2.1, "shame": -2.1, "cry": -2.1, "crying": -2.1,
    "cried": -2.1, "tears": -1.6, "hurt": -2.4, "pain": -2.3, "painful": -2.3, "ache": -1.6, "sick": -1.9,
    "ill": -1.6, "awful": -2.6, "terrible": -2.6, "horrible": -2.6, "worst": -3.1, "worse": -2.1,
    "struggle": -1.6, "struggling": -1.8, "difficult": -1.5, "hard": -0.6, "overwhelmed": -2.1,
    "overwhelming": -2.0, "insomnia": -1.9, "sleepless": -1.7, "restless": -1.4, "numb": -1.7,
    "empty": -1.9, "miserable": -2.7, "broken": -2.0, "lost": -1.3, "confused": -1.3, "grief": -2.2,
    "grieving": -2.2, "miss": -0.9, "pointless": -2.1, "burden": -1.9, "trapped": -2.1, "tense": -1.4,
    "argument": -1.6, "fight": -1.7, "conflict": -1.5, "problem": -1.5, "problems": -1.6, "weak": -1.9,
    "dread": -2.3, "dreading": -2.3, "unmotivated": -1.7, "bored": -1.2, "boring": -1.3, "sore": -1.3,
    "no energy": -1.8, "can't sleep": -2.0,
}
BOOSTERS = {"very": 0.293, "really": 0.293, "so": 0.293, "extremely": 0.293, "incredibly": 0.293, "totally": 0.293,
            "completely": 0.293, "absolutely": 0.293, "super": 0.293, "too": 0.293, "quite": 0.15,
            "slightly": -0.293, "somewhat": -0.293, "kinda": -0.293, "kind of": -0.293, "a bit": -0.293,
            "barely": -0.293, "little": -0.293}
NEGATIONS = {"not", "no", "never", "nothing", "neither", "nor", "nobody", "none", "without", "hardly", "cannot",
             "can't", "cant", "don't", "dont", "didn't", "didnt", "isn't", "isnt", "wasn't", "wasnt", "won't",
             "wont", "haven't", "havent", "couldn't", "couldnt", "doesn't", "doesnt", "aren't", "arent"}
# Al-Mosaiwi & Johnstone (2018), Clinical Psychological Science 6(4): the 19 absolutist words.
ABSOLUTIST = {"absolutely", "all", "always", "complete", "completely", "constant", "constantly", "definitely",
              "entire", "entirely", "ever", "every", "everyone", "everything", "full", "must", "never", "nothing",
              "totally", "whole"}
FIRST_SINGULAR = {"i", "me", "my", "mine", "myself", "i'm", "im", "i've", "ive", "i'd", "i'll"}
FIRST_PLURAL = {"we", "us", "our", "ours", "ourselves"}
FILLERS = {"um", "uh", "like", "basically", "whatever", "stuff", "things"}
STOPWORDS = {"the", "a", "an", "and", "or", "but", "to", "of", "in", "on", "at", "for", "with", "it", "is", "was",
             "be", "been", "am", "are", "this", "that", "i", "me", "my", "so", "very", "just", "have", "had", "has",
             "do", "did", "not", "no", "you", "he", "she", "they", "we", "them", "as", "if", "then", "than", "too",
             "really", "about", "from", "by", "up", "out", "what", "when", "all", "there", "its", "it's", "i'm"}

# Emotional tone: words that name the feeling (the theme's name is shown to clinicians).
THEMES: dict[str, set[str]] = {
    "sadness": {"sad", "sadness", "down", "low", "depressed", "crying", "cried", "cry", "tears", "empty", "miserable",
                "hopeless", "grief", "grieving", "numb", "unhappy"},
    "anxiety": {"anxious", "anxiety", "worried", "worry", "worrying", "nervous", "panic", "scared", "afraid", "fear",
                "tense", "dread", "dreading", "overwhelmed", "restless"},
    "anger": {"angry", "anger", "mad", "frustrated", "irritable", "annoyed", "upset", "furious"},
    "fatigue": {"tired", "exhausted", "drained", "fatigue", "fatigued", "sleepy", "unmotivated", "weak"},
    "loneliness": {"lonely", "alone", "isolated", "nobody", "miss"},
    "joy": {"happy", "glad", "joy", "fun", "laugh", "laughed", "smile", "smiled", "excited", "cheerful", "enjoyed",
            "enjoy", "love", "loved"},
    "calm": {"calm", "relaxed", "peaceful", "rested", "content", "balanced", "refreshed"},
    "hope": {"hope", "hopeful", "optimistic", "better", "improving", "improved", "progress", "motivated"},
}
# Topics a clinician would follow up (category, words).
CONCERNS: dict[str, set[str]] = {
    "sleep": {"sleep", "slept", "insomnia", "sleepless", "awake", "nightmares", "night", "bed"},
    "work and stress": {"work", "job", "boss", "deadline", "deadlines", "stress", "stressed", "stressful", "pressure",
                        "busy"},
    "relationships": {"partner", "wife", "husband", "family", "argument", "fight", "conflict", "kids", "mother",
                      "father", "friend", "friends", "divorce", "breakup"},
    "loneliness": {"lonely", "alone", "isolated", "nobody"},
    "physical health": {"pain", "ache", "sick", "ill", "sore", "headache", "heart", "breath", "surgery", "hospital"},
    "low mood": {"sad", "depressed", "hopeless", "empty", "worthless", "crying", "numb", "miserable"},
    "anxiety": {"anxious", "anxiety", "panic", "worried", "nervous", "dread"},
    "appetite": {"appetite", "eating", "eat", "hungry", "food", "weight"},
    "money": {"money", "bills", "rent", "debt", "afford"},
}
# Phrases that always need a human, whatever the score (never analysed away: shown as a high concern).
SELF_HARM = ("kill myself", "end my life", "suicide", "suicidal", "better off dead", "hurt myself", "harm myself",
             "don't want to live", "dont want to live", "want to die", "no reason to live", "self harm", "self-harm")

_WORD = re.compile(r"[A-Za-z][A-Za-z']*")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def words(text: str) -> list[str]:
    return _WORD.findall(text or "")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text or "") if words(s)]


def _normalize(score: float, alpha: float = 15.0) -> float:
    return score / math.sqrt(score * score + alpha)


def _sentence_valences(tokens: list[str]) -> list[float]:
    lower = [t.lower() for t in tokens]
    all_caps = any(t.isupper() and len(t) > 1 for t in tokens) and not all(t.isupper() for t in tokens)
    out = []
    i = 0
    while i < len(lower):
        word = lower[i]
        pair = f"{word} {lower[i + 1]}" if i + 1 < len(lower) else ""
        if pair in LEXICON:
            valence, span = LEXICON[pair], 2
        elif word in LEXICON and word not in BOOSTERS:
            valence, span = LEXICON[word], 1
        else:
            out.append(0.0)
            i += 1
            continue
        if all_caps and tokens[i].isupper():
            valence += 0.733 if valence > 0 else -0.733
        for back in (1, 2, 3):
            j = i - back
            if j < 0:
                break
            prev = lower[j]
            boost = BOOSTERS.get(prev) or BOOSTERS.get(f"{lower[j - 1]} {prev}" if j else "", 0.0)
            if boost:
                scale = 1.0 if back == 1 else (0.95 if back == 2 else 0.9)
                valence += (boost if valence > 0 else -boost) * scale
            if prev in NEGATIONS or prev.endswith("n't"):
                valence *= -0.74
        out.append(valence)
        out.extend([0.0] * (span - 1))
        i += span
    if "but" in lower:
        k = lower.index("but")
        out = [v * 0.5 if n < k else (v * 1.5 if n > k else v) for n, v in enumerate(out)]
    return out


def sentiment(text: str) -> dict:
    """VADER-shaped scores: pos/neu/neg proportions and the compound in −1..1."""
    tokens = words(text)
    if not tokens:
        return {"positive": 0.0, "negative": 0.0, "neutral": 1.0, "compound": 0.0}
    valences = []
    for sentence in sentences(text) or [text]:
        valences.extend(_sentence_valences(words(sentence)))
    total = sum(valences)
    bangs = min(text.count("!"), 4) * 0.292
    if total:
        total += bangs if total > 0 else -bangs
    compound = _normalize(total)
    pos = sum(v + 1 for v in valences if v > 0)
    neg = sum(abs(v) - 1 for v in valences if v < 0) + sum(1 for v in valences if v < 0)
    neu = sum(1 for v in valences if v == 0)
    whole = pos + neg + neu or 1.0
    return {"positive": round(pos / whole, 3), "negative": round(neg / whole, 3), "neutral": round(neu / whole, 3),
            "compound": round(compound, 4)}


def themes(tokens: list[str]) -> dict[str, int]:
    counts = Counter(t.lower() for t in tokens)
    return {name: n for name, vocab in THEMES.items() if (n := sum(counts[w] for w in vocab))}


def concerns(text: str, tokens: list[str]) -> list[dict]:
    lower = (text or "").lower()
    found = []
    harm = [p for p in SELF_HARM if p in lower]
    if harm:
        found.append({"concern": "Language about self-harm or not wanting to live", "category": "safety",
                      "severity": "high", "mentioned_count": len(harm), "context": _context(text, harm[0])})
    counts = Counter(t.lower() for t in tokens)
    for category, vocab in CONCERNS.items():
        hits = [w for w in vocab if counts[w]]
        n = sum(counts[w] for w in hits)
        if not n:
            continue
        neg = sum(1 for w in hits if LEXICON.get(w, 0) < 0)
        severity = "medium" if (n >= 3 or neg >= 2) else "low"
        found.append({"concern": category.capitalize(), "category": category, "severity": severity,
                      "mentioned_count": n, "context": _context(text, sorted(hits)[0])})
    return found


def _context(text: str, needle: str) -> str:
    for sentence in sentences(text):
        if needle in sentence.lower():
            return sentence[:200]
    return ""


def _coherence(sents: list[str]) -> float:
    """Share of adjacent sentence pairs that share a content word (1.0 for one sentence)."""
    bags = [{w.lower() for w in words(s) if w.lower() not in STOPWORDS and len(w) > 2} for s in sents]
    if len(bags) < 2:
        return 1.0
    linked = sum(1 for a, b in zip(bags, bags[1:], strict=False) if a & b)
    return round(0.4 + 0.6 * linked / (len(bags) - 1), 3)


def mattr(tokens: list[str], window: int = 25) -> float:
    """Moving-average type-token ratio (Covington & McFall 2010): length-independent lexical diversity."""
    lower = [t.lower() for t in tokens]
    if not lower:
        return 0.0
    if len(lower) <= window:
        return len(set(lower)) / len(lower)
    ratios = [len(set(lower[i:i + window])) / window for i in range(len(lower) - window + 1)]
    return sum(ratios) / len(ratios)


def analyse(text: str) -> dict:
    """Everything 002 keeps for a text, plus the features the baselines track."""
    tokens = words(text)
    n = len(tokens)
    sents = sentences(text)
    senti = sentiment(text)
    lower = [t.lower() for t in tokens]
    fps = sum(1 for t in lower if t in FIRST_SINGULAR) / n if n else 0.0
    fpp = sum(1 for t in lower if t in FIRST_PLURAL) / n if n else 0.0
    absolutist = sum(1 for t in lower if t in ABSOLUTIST) / n if n else 0.0
    fillers = sum(1 for t in lower if t in FILLERS) / n if n else 0.0
    negations = sum(1 for t in lower if t in NEGATIONS or t.endswith("n't")) / n if n else 0.0
    mean_sentence = n / len(sents) if sents else float(n)
    diversity = mattr(tokens)
    coherence = _coherence(sents)
    # Clarity: sentences of a readable length, few fillers. 1 at 8-20 words a sentence.
    length_penalty = 0.0 if 8 <= mean_sentence <= 20 else min(abs(mean_sentence - (8 if mean_sentence < 8 else 20))
                                                               / 20, 0.5)
    clarity = max(0.0, min(1.0, 1.0 - length_penalty - 2 * fillers))
    load = max(0.0, min(1.0, (mean_sentence / 40) + negations * 2))
    found_themes = themes(tokens)
    compound = senti["compound"]
    overall = "positive" if compound >= 0.05 else ("negative" if compound <= -0.05 else "neutral")
    tone = max(found_themes, key=found_themes.get) if found_themes else overall
    thought_patterns = []
    if absolutist > 0.02:
        thought_patterns.append("absolutist wording (all-or-nothing)")
    if fps > 0.1:
        thought_patterns.append("strong self-focus (first person singular)")
    if negations > 0.05:
        thought_patterns.append("frequent negation")
    # The text's own wellness score: sentiment centred at 55, less for absolutist and self-focused
    # wording (both rise with depressive symptoms in the cited studies). 0-100, higher is better.
    wellness = 55 + 40 * compound - min(300 * max(absolutist - 0.01, 0), 15) - min(100 * max(fps - 0.08, 0), 10)
    quality = min(1.0, n / 40)  # fewer than ~40 words is a thin basis
    return {
        "combined_text": text,
        "sentiment_analysis": {
            "overall_sentiment": overall,
            "confidence": round(min(1.0, abs(compound) * 0.6 + quality * 0.4), 3),
            "emotional_tone": tone,
            "mood_indicators": sorted(found_themes, key=found_themes.get, reverse=True),
            "sentiment_scores": {"positive": senti["positive"], "negative": senti["negative"],
                                 "neutral": senti["neutral"]},
            "compound": compound,
        },
        "cognitive_markers": {
            "clarity_score": round(clarity, 3),
            "coherence_score": coherence,
            "thought_patterns": thought_patterns,
            "cognitive_load": round(load, 3),
            "focus_indicators": ["self-focused"] if fps > 0.1 else (["others-focused"] if fpp > fps else []),
            "decision_making_patterns": ["all-or-nothing"] if absolutist > 0.02 else [],
        },
        "linguistic_patterns": {
            "word_count": n, "sentence_count": len(sents), "mean_sentence_length": round(mean_sentence, 2),
            "first_person_singular_rate": round(fps, 4), "first_person_plural_rate": round(fpp, 4),
            "absolutist_rate": round(absolutist, 4), "negation_rate": round(negations, 4),
            "lexical_diversity_mattr": round(diversity, 4), "themes": found_themes,
        },
        "text_wellness_score": round(max(0.0, min(100.0, wellness)), 1),
        "quality": round(quality, 3),
        "concerns": concerns(text, tokens),
    }


def summary(text: str, max_sentences: int = 2) -> str:
    """A short extractive summary: the sentences carrying the most feeling words, in their order."""
    sents = sentences(text)
    if len(sents) <= max_sentences:
        return " ".join(sents)[:400]
    weight = [sum(abs(v) for v in _sentence_valences(words(s))) + 0.01 * len(words(s)) for s in sents]
    keep = sorted(sorted(range(len(sents)), key=lambda i: -weight[i])[:max_sentences])
    return " ".join(sents[i] for i in keep)[:400]
