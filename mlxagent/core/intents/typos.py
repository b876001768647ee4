"""Typo fixes: replace a misspelled word with its nearest correct word, preferring the
repository's own vocabulary, keeping the original's capitalisation."""

from __future__ import annotations

import difflib

import re
from collections import Counter

from .base import Edit, Intent, file_matches, first_changed_line, md_section, short

MISSPELLINGS = dict(p.split(":") for p in (
    "recieve:receive recieved:received reciever:receiver seperate:separate seperated:separated occured:occurred "
    "occurence:occurrence occurrance:occurrence definately:definitely accomodate:accommodate acheive:achieve "
    "adress:address begining:beginning beleive:believe calender:calendar comming:coming commited:committed "
    "concious:conscious enviroment:environment existance:existence goverment:government independant:independent "
    "lenght:length neccessary:necessary necesary:necessary paramter:parameter paramters:parameters "
    "persistant:persistent posible:possible prefered:preferred priviledge:privilege publically:publicly "
    "reccomend:recommend recomend:recommend refered:referred relevent:relevant succesful:successful "
    "successfull:successful sucess:success teh:the thier:their tommorow:tomorrow truely:truly untill:until "
    "wich:which wierd:weird writting:writing arguement:argument dependancy:dependency dependancies:dependencies "
    "compatability:compatibility initalize:initialize initialise:initialise retreive:retrieve accross:across "
    "adn:and alot:a_lot aquire:acquire basicly:basically buisness:business catagory:category collegue:colleague "
    "comittee:committee completly:completely consistant:consistent dissapear:disappear embarass:embarrass "
    "explaination:explanation familar:familiar finaly:finally foward:forward fourty:forty freind:friend "
    "grammer:grammar happend:happened immediatly:immediately knowlege:knowledge libary:library "
    "maintainance:maintenance millenium:millennium mispell:misspell noticable:noticeable occassion:occasion "
    "paralel:parallel particulary:particularly peice:piece perminent:permanent posession:possession "
    "preceeding:preceding proccess:process proccessing:processing pronounciation:pronunciation rember:remember "
    "repitition:repetition sentance:sentence similiar:similar speach:speech strenght:strength suprise:surprise "
    "tendancy:tendency threshhold:threshold transfered:transferred usefull:useful vaccum:vacuum "
    "valueable:valuable wether:whether whcih:which funtion:function fucntion:function functon:function "
    "retrun:return reutrn:return widht:width heigth:height hieght:height defualt:default udpate:update "
    "upadte:update intial:initial instaed:instead resposne:response reponse:response reqeust:request "
    "requets:requests conection:connection connnection:connection messsage:message mesage:message "
    "verison:version improt:import pritn:print availible:available avaliable:available accesible:accessible "
    "acessible:accessible alredy:already anwser:answer apropriate:appropriate assosiated:associated "
    "atleast:at_least attribtue:attribute beacuse:because becuase:because behaviour:behaviour charachter:character "
    "charater:character cheking:checking choosen:chosen comand:command commmand:command configuraiton:configuration "
    "configration:configuration containg:containing contian:contain corect:correct curent:current "
    "descripton:description diffrent:different directry:directory doesnt:doesn't enviornment:environment "
    "exmaple:example exapmle:example excecute:execute exsist:exist exsists:exists feild:field follwing:following "
    "fromat:format garantee:guarantee gaurd:guard hte:the identifer:identifier implmentation:implementation "
    "incorect:incorrect infomation:information instal:install instalation:installation langauge:language "
    "lastest:latest maximun:maximum minimun:minimum neccesary:necessary nubmer:number numbr:number ocurred:occurred "
    "optinal:optional orignal:original outputing:outputting overriden:overridden permision:permission "
    "porperty:property propery:property recrod:record refrence:reference reponsible:responsible "
    "retured:returned sepcify:specify specifiy:specify strign:string succeded:succeeded sucessful:successful "
    "suport:support supprot:support targer:target tempalte:template thru:through tyep:type uesr:user "
    "unkown:unknown usign:using vairable:variable varialbe:variable verfiy:verify wihch:which wiht:with "
    "withing:within woudl:would wrod:word").split())

COMMON = set("""the be to of and a in that have it for not on with he as you do at this but his by from they we say
her she or an will my one all would there their what so up out if about who get which go me when make can like
time no just him know take people into year your good some could them see other than then now look only come its
over think also back after use two how our work first well way even new want because any these give day most us
receive received receiver separate occurred occurrence definitely address beginning believe environment length
necessary parameter parameters possible preferred relevant successful success until which argument dependency
across function return default update initial instead response request connection message version import print
available example field format language number optional original property reference string support template
through type user variable verify with within would word value values file files data name error errors config
configuration install installation usage license project package module class method test tests result results
output input read write open close start stop server client port host path list item items key keys string text
line lines code build run running check checked correct current description different directory command""".split())


def _case_like(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def distance(a: str, b: str, cap: int = 3) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, stopping early past cap."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > cap:
            return cap + 1
        prev2, prev = prev, cur
    return prev[-1]


def _derived(word: str) -> str | None:
    """A known misspelling's fix carried to another form of the word ("seperator" from
    "seperate" -> "separate"): the same letters change when the word shares the stem up to them."""
    best = None
    for bad, good in MISSPELLINGS.items():
        if "_" in good or bad[:3] != word[:3] or len(bad) != len(good):
            continue
        k = 0
        while k < min(len(bad), len(word)) and bad[k] == word[k]:
            k += 1
        last = max(i for i in range(len(bad)) if bad[i] != good[i])
        if k > last and k >= 4 and k < len(word) and (best is None or k > best[0]):
            best = (k, good[:k] + word[k:])
    return best[1] if best else None


def vocabulary(files: dict[str, str]) -> Counter:
    c: Counter = Counter()
    for text in files.values():
        if isinstance(text, str):
            c.update(w.lower() for w in re.findall(r"[A-Za-z][a-z]{2,}|[A-Z]{3,}", text))
    return c


def suggestions(word: str, files: dict[str, str], limit: int = 3) -> list[tuple[str, float]]:
    """(correction, prior) best first."""
    low = word.lower()
    out: list[tuple[str, float]] = []
    fixed = MISSPELLINGS.get(low) or _derived(low)
    if fixed and "_" not in fixed:
        out.append((fixed, 0.9 if low in MISSPELLINGS else 0.85))
    vocab = vocabulary(files)
    cap = 1 if len(low) <= 4 else 2
    scored = []
    for w in set(vocab) | COMMON:
        if w == low or abs(len(w) - len(low)) > cap or w in MISSPELLINGS:
            continue
        d = distance(low, w, cap)
        if d <= cap:
            scored.append((d, -vocab.get(w, 0) - (3 if w in COMMON else 0), w))
    for d, freq, w in sorted(scored):
        if any(w == o for o, _ in out):
            continue
        out.append((w, round(max(0.2, 0.8 - 0.2 * (d - 1) + min(0.1, -freq / 100)), 3)))
    return out[:limit]


def typo_candidates(files: dict[str, str], intent: Intent) -> list[Edit]:
    named = [p for p in sorted(files) if any(file_matches(p, n) for n in intent.files)]
    scope = named or sorted(files)
    words = [intent.old] if intent.old else []
    target = intent.new
    if intent.old and not intent.new and not _present(files, scope, intent.old):
        words, target = [], intent.old
    if target and not words:
        near = _near_words(files, scope, target)
        if near:
            return [e for e in (_apply(files, scope, [(w, _case_like(target, w))], 0.9 - 0.1 * i, named)
                                for i, w in enumerate(near[:3])) if e] + (
                [e for e in [_apply(files, scope, [(w, target) for w in near], 0.85, named)] if e]
                if len(near) > 1 else [])
    one, _, section = (intent.key or "").partition(":")
    if not words:
        view = {p: _section_of(files[p], section) if section else files[p] for p in scope}
        seen = []
        for p in scope:
            for w in re.findall(r"[A-Za-z]+", view[p] if isinstance(view[p], str) else ""):
                if w.lower() in MISSPELLINGS and w.lower() not in seen and "_" not in MISSPELLINGS[w.lower()]:
                    seen.append(w.lower())
        spelled = _dictionary_misspellings(view, [p for p in scope if re.search(r"\.(?:md|markdown|rst|txt)$", p, re.I)],
                                           vocab_of=files)
        extra = {w: fix for w, fix in spelled if w not in seen}
        words = seen + list(extra)
        if intent.new:  # the right spelling was said: only a word near it can be its misspelling
            words = [w for w in words if difflib.SequenceMatcher(None, w.lower(), intent.new.lower()).ratio() >= 0.6]
    out: list[Edit] = []
    fixes: list[tuple[str, str]] = []
    for word in words:
        if not word or not re.fullmatch(r"[\w'\-]+", word):
            continue
        if intent.new:
            options = [(intent.new, 0.95)]
        elif intent.old:
            rest = {p: t for p, t in files.items() if isinstance(t, str)}
            options = suggestions(word, rest)
        elif word in extra:
            # the dictionary's near words of one frequency class tie: the model picks ("succeds":
            # "succeeds" or "success" is a question of the sentence, not of the word)
            options = [(fix, 0.8) for fix in extra[word]]
        else:
            options = [(MISSPELLINGS[word.lower()], 0.9)]
        if options:
            fixes.append((word, options[0][0]))
        if one == "one" and len(words) > 1:
            options = [(fix, prior - 0.05) for fix, prior in options]  # "the typo": which word is a guess
        for fix, prior in options:
            edit = _apply(files, scope, [(word, fix)], prior, named)
            if edit:
                out.append(edit)
    if len(fixes) > 1 and one != "one":
        edit = _apply(files, scope, fixes, 0.95, named)
        if edit:
            out.append(edit)
    return out


def _section_of(text: str, name: str) -> str:
    """The Markdown section whose heading holds `name` (heading to the next heading of its level or
    above); the whole text when there is none."""
    found = md_section(text, name, exact=False) if isinstance(text, str) else None
    if found is None:
        return text
    lines, i, j = found
    return text[lines[i][0]:lines[j][0] if j < len(lines) else len(text)]


def _dictionary_misspellings(files: dict[str, str], docs: list[str],
                             vocab_of: dict[str, str] | None = None) -> list[tuple[str, list[str]]]:
    """Lower-case words of the prose files that an English dictionary (pyspellchecker) does not know,
    the repository writes at most twice, and whose correction it knows well or the repository uses:
    ("occurence", ["occurrence"]); with the dictionary's other words as near and as common beside the
    first. Names, code and words the project coins are left alone."""
    if not docs:
        return []
    spell = speller()
    if spell is None:
        return []
    vocab = vocabulary(vocab_of if vocab_of is not None else files)
    out = []
    for p in docs:
        text = re.sub(r"`[^`\n]*`|\]\([^)\n]*\)|https?://\S+", " ", files.get(p) or "")
        foreign = _foreign(text, spell, vocab)
        for w in dict.fromkeys(re.findall(r"(?<![\w.@/\-])[a-z]{4,}(?![\w@/\-]|\.\w)", text)):
            if w in spell or vocab.get(w, 0) > 2 or w in COMMON or w in foreign:
                continue
            own = _own_word(w, vocab)
            if own:  # "tidwatch" where the project writes "tidewatch" everywhere else
                out.append((w, [own]))
                continue
            fix = spell.correction(w)
            if fix and fix != w and "_" not in fix and (fix in COMMON or vocab.get(fix) or
                                                        spell.word_usage_frequency(fix) > 1e-6):
                out.append((w, [fix] + _alternatives(spell, w, fix)))
    return out[:6]


def _foreign(text: str, spell, vocab: Counter) -> set[str]:
    """Words the dictionary does not know that stand beside another such word: a name or a phrase
    in another language ("Muséum national d'Histoire naturelle"), not a typo, which stands alone."""
    words = re.findall(r"[^\W\d_]+", text)
    unknown = [len(w) >= 3 and w.lower() not in spell and vocab.get(w.lower(), 0) <= 2 for w in words]
    return {words[i].lower() for i in range(len(words)) if unknown[i]
            and ((i > 0 and unknown[i - 1]) or (i + 1 < len(words) and unknown[i + 1]))}


def _own_word(word: str, vocab: Counter) -> str | None:
    """The repository's own word (written 3 times or more) one or two edits from `word` (five
    letters or more), when there is exactly one."""
    if len(word) < 5:
        return None
    near = [v for v, n in vocab.items() if n >= 3 and v != word and abs(len(v) - len(word)) <= 2
            and v[:1] == word[:1] and distance(word, v, 2) <= 2]
    return near[0] if len(near) == 1 else None


def _alternatives(spell, word: str, fix: str) -> list[str]:
    """The dictionary's other corrections of `word` one edit away, in common use (1 in 10 million
    words or more), most used first: the sentence, not the word, tells them apart."""
    try:
        near = set(spell.known(spell.edit_distance_1(word)))
    except Exception:  # noqa: BLE001 - a dictionary without these calls offers none
        return []
    if fix not in near:
        return []
    return sorted((w for w in near if w != fix and "_" not in w and spell.word_usage_frequency(w) >= 1e-7),
                  key=lambda w: -spell.word_usage_frequency(w))[:2]


def _present(files: dict[str, str], scope: list[str], word: str) -> bool:
    pat = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(word) + r"(?![A-Za-z0-9_])", re.I)
    return any(isinstance(files.get(p), str) and pat.search(files[p]) for p in scope)


def _near_words(files: dict[str, str], scope: list[str], right: str) -> list[str]:
    """Words of the scoped files within a small edit distance of the correct spelling, nearest first."""
    low = right.lower()
    if not re.fullmatch(r"[a-z'\-]{3,}", low):
        return []
    cap = 1 if len(low) <= 5 else 2
    found: dict[str, int] = {}
    for p in scope:
        text = files.get(p)
        if not isinstance(text, str):
            continue
        for w in set(re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", text)) | set(re.findall(r"[A-Za-z]+", text)):
            lw = w.lower()
            if lw != low and lw not in COMMON and abs(len(lw) - len(low)) <= cap and lw[:1] == low[:1]:
                d = distance(lw, low, cap)
                if d <= cap:
                    found[lw] = min(found.get(lw, 9), d)
    return sorted(found, key=lambda w: (found[w], w))


def _apply(files: dict[str, str], scope: list[str], fixes: list[tuple[str, str]], prior: float,
           named: list[str]) -> Edit | None:
    changed = []
    for path in scope:
        text = files.get(path)
        if not isinstance(text, str):
            continue
        new = text
        for word, fix in fixes:
            pat = re.compile(r"(?<![A-Za-z0-9_])" + re.escape(word) + r"(?![A-Za-z0-9_])", re.I)
            new = pat.sub(lambda m: _case_like(fix, m.group()), new)
        if new != text:
            changed.append((path, new))
    if not changed:
        return None
    path, after = changed[0]
    what = ", ".join(f"{w} → {f}" for w, f in fixes)
    if not named and len(changed) > 1:
        prior -= 0.05
    return Edit(tuple(changed), path, first_changed_line(files[path], after), "typo",
                f"{short(', '.join(p for p, _ in changed), 60)}: {what}", prior)


_SPELLER: list = []


def speller():
    """pyspellchecker's English dictionary (loaded once), or None where it is not installed."""
    if not _SPELLER:
        try:
            from spellchecker import SpellChecker

            _SPELLER.append(SpellChecker(distance=2))
        except Exception:  # noqa: BLE001 - no dictionary: no typo hypotheses
            _SPELLER.append(None)
    return _SPELLER[0]
