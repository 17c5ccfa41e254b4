"""Wordings found by probing the reader with the notes' own shorthand (twenty-third session):
each read routine before its pattern, and each has a near miss that must stay as it is."""

from __future__ import annotations

import pytest

from tests.unit.triage.text.test_text_narratives import urgency_received as urgency


@pytest.mark.parametrize(("text", "expected"), [
    ("urinary incont x2 since Sun", "emergency"),
    ("incont of urine since Mon", "emergency"),
    ("faecal incont since Mon", "emergency"),
    ("doubly incont since Monday", "emergency"),
    ("numb vag since Monday", "emergency"),
    ("numb fanny since Monday", "emergency"),
    # a fall down five stairs or more is a fall from height
    ("fell down 12 stairs yesterday", "emergency"),
    ("fell down five steps on Sunday", "emergency"),
    ("fell down the whole flight of stairs yesterday", "emergency"),
    # near misses
    ("no urinary incont", "routine"),
    ("fell down the last two steps yesterday", "routine"),
    ("fell down 3 steps yesterday", "routine"),
])
def test_the_notes_shorthand_is_read(text: str, expected: str) -> None:
    assert urgency(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("both legs gave way on Tuesday and she fell", "emergency"),
    ("legs keep giving way since Monday", "emergency"),
    ("my legs went from under me on Tuesday", "emergency"),
    ("erections stopped since Monday", "emergency"),
    ("sex feels numb since Monday", "emergency"),
    # near misses: one leg, a denial, long ago and unchanged
    ("my left leg gave way on Tuesday", "soon"),
    ("her legs have never given way", "routine"),
    ("erections have not stopped", "routine"),
    ("legs gave way 3 years ago after the stroke, unchanged since", "routine"),
])
def test_both_legs_failing_and_sex_in_lay_words(text: str, expected: str) -> None:
    assert urgency(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # a grade with its sign: the tokenizer writes "4+/5" as "4 + / 5"
    ("R EHL 4+/5", "soon"),
    ("hip flexion 4-/5", "soon"),
    ("EHL 3-/5 since Monday", "emergency"),
    ("EHL 3+/5 since Monday", "emergency"),  # below 4-/5: the safer reading
    ("EHL 5/5", "routine"),
    # a deficit recovering is not progressing; a severe one within the fortnight still counts
    ("L PF now 4/5 and improving.", "soon"),
    ("Woke on 20/11 unable to lift either foot. Now 4/5 and improving daily.", "emergency"),
    # "a long time before it starts" is hesitancy now, not a long history
    ("Over the past 10 days she can't tell when her bladder is full and has to wait a long time "
     "before the flow starts - this is new for her.", "emergency"),
])
def test_grades_with_their_sign_and_a_long_wait(text: str, expected: str) -> None:
    assert urgency(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("when i wipe i cant really feel it", "emergency"),
    ("Temp 100.8F. Old lumbar incision red, hot and tender.", "emergency"),
    ("Temp 99F. Old lumbar incision red.", "urgent"),
    ("reduced pinprick perianally and over S3-4 both sides", "emergency"),
    ("the skin between her legs and over both buttocks is still numb", "emergency"),
    ("MRI (no gadolinium): 2 x 3 cm fluid collection at the operative site", "urgent"),
    ("MRI: no collection, no abscess", "routine"),
    ("annular closure device at L5/S1 malpositioned", "urgent"),
    ("she has to wait a long time and strain before her urine will start, never before",
     "emergency"),
    ("She has had a poor stream for a long time", "routine"),
])
def test_words_of_the_pregnancy_table(text: str, expected: str) -> None:
    assert urgency(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # a new mild deficit said to be stable is the 3.2 modifier's, not progressing
    ("L EHL 4/5, new since early November. Re-tested Tuesday: still 4/5, unchanged.", "soon"),
    ("Plantarflexion 4/5, new. Present since early Nov, stable.", "soon"),
    ("L ankle dorsiflexion 4/5 since about 3 weeks, unchanged on repeat 20/11 and today.", "soon"),
    ("R ankle dorsiflexion 4/5, new, unchanged between 13/11 and today.", "soon"),
    ("my shin is four out of five, its new since the start of the month but its not getting "
     "any worse", "soon"),
    ("my left calf is 4/5, new since about Remembrance weekend, same every week since.", "soon"),
    # ... and one that goes on to worsen still is
    ("L EHL 4/5, new since early November. Re-tested Tuesday: now 3/5.", "emergency"),
    ("L EHL 4/5, new. Still 4/5 today but getting worse.", "emergency"),
    ("R EHL 4/5 stable on 20/11, now 3/5 today", "emergency"),
])
def test_a_new_mild_deficit_said_to_be_stable(text: str, expected: str) -> None:
    assert urgency(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # the templates table
    ("O/E SLR positive bilaterally. Since Sunday new pain down the right leg too.", "emergency"),
    ("LABS | CRP | 46 | H | 0-5 mg/L", "urgent"),
    ("X-ray: new wedge compression of T12 with 25% anterior height loss", "urgent"),
    ("Red flag screen: Saddle anaesthesia: *** | Urinary retention: *** | HPI: pain improving",
     "routine"),
    ("If she were to develop a fever with wound discharge, please refer immediately.", "routine"),
    ("PMH: RTA 2019 at 60 mph - fractured wrist, full recovery. | Now: back pain 4/10.",
     "routine"),
    ("RTA on Monday at 60 mph", "emergency"),
    # the young table
    ("he hasnt peed since like 9pm last night", "emergency"),
    ("been having ED since coming off my cycle 2 wks ago", "emergency"),
    ("seen in ED on Monday, ED doctor said back strain", "routine"),
    ("wound leaking yellowish stuff and I checked my temp it's 38.4", "emergency"),
    ("came off the bike at like 55 km/h, went over the bars", "emergency"),
    ("it takes ages for me to start peeing, like a minute, since Sunday", "emergency"),
    ("Hx osteosarcoma age 15. Now back pain that wakes him every night, unremitting.", "urgent"),
    ("MRI: a new incomplete stress fracture; not present on the pre-operative MRI of August.",
     "urgent"),
    ("nearly pissed myself laughing at the physio", "routine"),
    ("my mate on tren can't get it up lol", "routine"),
    ("I pissed myself on the bus yesterday, didn't feel it", "emergency"),
])
def test_words_of_the_templates_and_young_tables(text: str, expected: str) -> None:
    assert urgency(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # the pain-clinic table
    ("feeling she hasn't finished: residual 320 mL", "emergency"),
    ("no urinary symptoms: residual 50 mL", "routine"),
    ("MRI: granuloma at L1-2 with compression of the conus and cauda equina", "emergency"),
    ("CT: L4 right pedicle screw breaches the medial wall into the lateral recess", "urgent"),
    # the translated table: decimal commas, PCR with its unit, literal idioms
    ("Fever 38,2 since two days, wound red", "emergency"),
    ("PCR 3,4 mg/dL, afebrile", "urgent"),
    ("operated 4,5 months ago, pain 4/10", "routine"),
    ("From 2 days urine is not coming, catheter placed, 900 cc came", "emergency"),
    ("I make pee without to know, two times this week", "emergency"),
    ("hypoesthesia in saddle of riding since 4 days", "emergency"),
    ("since one week no sensation during marital relation", "emergency"),
    ("From three days the legs are weak, both of them", "emergency"),
    ("The wound is opened again and comes out liquid like water with yellow. No fever.", "urgent"),
    ("I have retention of water in the legs", "routine"),
])
def test_words_of_the_pain_clinic_and_translated_tables(text: str, expected: str) -> None:
    assert urgency(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # a son or daughter calls the patient Mum or Dad
    ("[Daughter 08:12] Mum's had an accident with her bowels this morning", "emergency"),
    ("Message from patient's daughter: Mum had an accident with her bowels on Wednesday",
     "emergency"),
    ("Son: Dad has wet himself twice since Monday", "emergency"),
    # near misses: the patient writing of a parent, a grandparent in a child's message
    ("Mum had an accident with her bowels on Wednesday, she has dementia. My back is the same.",
     "routine"),
    ("Message from patient's daughter: her grandmother had cauda equina syndrome", "routine"),
    # a question whether she feels her bladder, answered no
    ("Dr: do you feel when it's full? | Pt: No. | Dr: Any leaking? | Pt: No.", "emergency"),
    ("Q: Can you tell when you need a wee? A: Nope", "emergency"),
    ("Dr: do you feel when it's full? | Pt: Yes. | Dr: Any leaking? | Pt: No.", "routine"),
    ("Dr: Any loss of feeling when your bladder is full? | Pt: No.", "routine"),
    # a clause of its own after "can't feel it", a heading's parenthesis, "ring if so"
    ("when I finish I can't feel it, and down there is kind of numb", "emergency"),
    ("Voicemail (auto-transcribed, no punctuation): the numbness in the saddle area is still "
     "there since thursday", "emergency"),
    ("the leaflet said to ring if so im ringing and i cant tell when ive finished weeing",
     "emergency"),
    ("ring if you cant tell when youve finished weeing", "routine"),
    ("no numbness, and my bladder is fine", "routine"),
])
def test_words_of_the_gap_rows_mended_in_session_24(text: str, expected: str) -> None:
    assert urgency(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # the examiner's pinprick, the clinician's words for the bladder and bowel
    ("reduced pinprick over both buttocks and the perineum", "emergency"),
    ("perianal pinprick reduced bilaterally S3-S5", "emergency"),
    ("pinprick normal over the perineum", "routine"),
    ("then only a weak trickle since Tuesday", "emergency"),
    ("only realises she needs to go when her tummy feels full", "emergency"),
    ("he has leaked urine at work without any warning", "emergency"),
    ("I realised my trousers were wet. I never felt a thing.", "emergency"),
    ("pt found wet in bed this am, unaware", "emergency"),
    ("can't tell if it's wind or stool and she has soiled her underwear twice", "emergency"),
    ("no feeling at all during sex since last week", "emergency"),
    ("in the last fortnight or so nothing works down there", "emergency"),
    # near misses: a buttock's cheek, a benefits descriptor, a job's retention
    ("pins and needles in her bum cheek if she sits on hard chairs", "routine"),
    ("Managing toilet needs or incontinence: 5a Can manage toilet needs or incontinence unaided",
     "routine"),
    ("Retention of his job is uncertain following the restructure", "routine"),
    # a progressing foot, a crash, a height
    ("Each day this week his left foot has got weaker", "emergency"),
    ("objective evidence of progression of the motor deficit", "emergency"),
    ("front-seat passenger in a car that left the road and rolled onto its roof", "emergency"),
    ("slid off the edge, it's about 10 feet onto the drive", "emergency"),
    ("slid down the wall to the floor", "routine"),
    ("he rolled onto his side in bed", "routine"),
    # a syndrome dated by its year, a relative by marriage
    ("usual slow stream since CES 2016, unchanged", "routine"),
    ("My sister-in-law had cauda equina last month", "routine"),
])
def test_words_of_the_revision_neurology_medicolegal_and_ambulance_tables(
        text: str, expected: str) -> None:
    assert urgency(text) == expected


def test_a_bone_lesion_still_to_be_excluded_is_suspected() -> None:
    text = ("MRI: multiple T1 hypointense foci in L1, L3 and sacrum - appearances suspicious for "
            "marrow infiltration, myeloma or metastases to be excluded.")
    assert urgency(text) == "urgent"
    assert urgency("MRI: metastases excluded.") == "routine"
    assert urgency("Possible urinary retention should be excluded if symptoms arise.") == "routine"


@pytest.mark.parametrize(("text", "expected"), [
    # a temperature "spiked", a person "is" a temperature with its decimal
    ("Spiked 38.3 overnight. MRI: discitis at L2/3.", "emergency"),
    ("tonight she's 38.6 and the wound is red", "emergency"),
    ("she's 38 and works as a nurse; the wound is red", "urgent"),
    ("wound: moderate exudate, dressing changed", "urgent"),
    # two weights, today's first; a loss written as "down 8 kg"
    ("Prostate cancer 2019. Weight: 74 kg today vs 81 kg in August, not dieting.", "urgent"),
    ("Prostate cancer 2019. Weight: 81 kg today vs 74 kg in August.", "routine"),
    ("Weight down 8 kg since July (98 -> 90 kg), not dieting. Back pain wakes him every night.",
     "urgent"),
    ("not PU since yesterday evening, bladder palpable", "emergency"),
])
def test_temperatures_wounds_and_weights_as_the_services_write_them(
        text: str, expected: str) -> None:
    assert urgency(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # a lab form, a radiologist's words, a wound that keeps oozing
    ("Test: C-reactive protein | Result: 1.8 mg/dL | Reference range: <0.5 mg/dL", "urgent"),
    ("Indeterminate sclerotic focus in the right S1 body; MRI advised", "urgent"),
    ("1.8 cm T1 hypointense lesion in L1, not typical for haemangioma, suspicious for metastasis",
     "urgent"),
    ("USS: 3.8 x 2.1 cm hypoechoic collection in the subcutaneous fat deep to the wound", "urgent"),
    ("Wound swab: MSSA. Today still oozing.", "urgent"),
    ("Patient still spiking, last 38.9 at 14:00. Wound swab MSSA, wound oozing.", "emergency"),
    # the bladder and the saddle in people's words
    ("he has to stand at the toilet for a long time before his urine starts", "emergency"),
    ("only a dribble comes out and I still feel full afterwards", "emergency"),
    ("his bum and the tops of both inner thighs have gone numb", "emergency"),
    ('she can\'t feel anything "down there" since yesterday', "emergency"),
    # a "not" that is its own verb's
    ("The one thing I did not like is that the stream is weak since Monday", "emergency"),
    ("I can't climb stairs properly, the A&E doctor wrote 'hip flexion 4/5'", "soon"),
    # near misses: an old foot drop, a parent looked after, a fall's date
    ("Old left foot drop since his 2020 stroke, wears an AFO, no change.", "routine"),
    ("she is looking after her father who is doubly incontinent", "routine"),
    ("I did not like the food on the ward", "routine"),
])
def test_words_of_the_gp_record_boilerplate_infection_and_older_neck_tables(
        text: str, expected: str) -> None:
    assert urgency(text) == expected


def test_a_daughter_who_speaks_of_mums_operation_writes_of_the_patient() -> None:
    text = ("Mum phoned me in tears tonight - she says when she sits on the loo she can't feel "
            "anything down there. She had her neck op in September.")
    assert urgency(text) == "emergency"
    assert urgency("My mum had cauda equina syndrome; she had her operation in 2010.") == "routine"


@pytest.mark.parametrize(("text", "expected"), [
    # a new mild weakness said, in the next sentence or in other words, not to be changing
    ("New L ankle dorsiflexion weakness (4/5) found at review. She says it has been the same for "
     "about 3 weeks and isn't getting worse.", "soon"),
    ("New weakness for 3 weeks; physio measured ankle DF 4/5 at two visits, same both times.",
     "soon"),
    ("EPB and EPL 4/5 on the right, new after surgery, same for 6 weeks.", "soon"),
    # near misses: a next sentence that says it is worse, or speaks of something else
    ("New L ankle dorsiflexion weakness (4/5) found at review. She says it is getting worse.",
     "emergency"),
    ("New L ankle dorsiflexion weakness (4/5) found at review. Back pain has been the same.",
     "emergency"),
])
def test_a_new_mild_weakness_said_to_be_stable_in_other_words(text: str, expected: str) -> None:
    assert urgency(text) == expected


def test_not_making_it_to_the_toilet_is_the_accident() -> None:
    assert urgency('twice in the past week he had "not made it" and soiled himself') == "emergency"
    assert urgency("he did not make it to the dentist and has no bowel incontinence") == "routine"


@pytest.mark.parametrize(("text", "expected"), [
    # a weekday named for the onset of a severe deficit is within the week
    ("Coach: noticed on Wednesday his right foot is slapping and he can't lift his toes; "
     "physio said dorsiflexion 2/5.", "emergency"),
    # a date with a weekday before "after ..." is a date, not the count "12/7 after"
    ("Onset of L foot drop on Fri 13/11 after a training session, dorsiflexion 3/5, not "
     "worsening since.", "emergency"),
    # near misses: an onset outside the fortnight, and a count of months before "post"
    ("Onset of L foot drop on Thu 12/11 after a training session, dorsiflexion 3/5, not "
     "worsening since.", "urgent"),
    ("Foot drop, dorsiflexion 3/5, first noted 3/12 post-op and not worsening since.", "urgent"),
])
def test_a_weekday_or_a_date_before_after_dates_a_severe_deficit(text: str, expected: str) -> None:
    assert urgency(text) == expected


def test_legs_that_feel_like_jelly_are_both_legs_failing() -> None:
    assert urgency("Since the weekend Mum's \"legs feel like jelly\", both of them, she now "
                   "needs two sticks.") == "emergency"
    assert urgency("His legs felt like jelly for years after the polio; no change.") == "routine"


@pytest.mark.parametrize(("text", "expected"), [
    # a negative typed without its apostrophe denies as the written one does
    ("she doesnt have any numbness down below", "routine"),
    ("I DIDNT HAVE ANY TROUBLE PEEING", "routine"),
    ("havent had any accidents, dont have numbness anywhere", "routine"),
    # and a finding after it is still read
    ("cant feel my bum when i wipe since yesterday", "emergency"),
    ("I havent been able to pee since last night", "emergency"),
    # contractions shouted in capitals are split as their lower-case forms are
    ("THIS IS HER HUSBAND. SHE SAYS SHE CANT FEEL ANYTHING DOWN BELOW WHEN SHE SITS ON THE "
     "TOILET. STARTED THIS MORNING.", "emergency"),
    ("SHE CAN'T FEEL ANYTHING DOWN BELOW SINCE THIS MORNING", "emergency"),
    ("I DON'T HAVE ANY NUMBNESS DOWN BELOW", "routine"),
    # a clause with its own subject after "and" ends the denial before it, comma or none
    ("i havent got a thermometer and the scar is oozing again since monday", "urgent"),
])
def test_negatives_typed_in_a_hurry(text: str, expected: str) -> None:
    assert urgency(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # autocorrect, dictation and text-speak (blind typos table)
    ("cant feel my bomb when i wipe since yesterday", "emergency"),
    ("On examination reduced power in both lakes, ankle plantar flexion four over five "
     "bilaterally, this is new since her review last week.", "emergency"),
    ("Havent had a wee since about 8 last nite, bladder feels like its going to burst",
     "emergency"),
    ("have 2 wait ages b4 i can start peeing n then its just a dribble", "emergency"),
    ("since last week i cant feel anything during sex wiv my husband", "emergency"),
    ("Dictated: left leg pain ate out of ten, back pain two out of ten. MRI shows a recurrent "
     "L5-S1 disc compressing the left S1 nerve root.", "soon"),
    # near misses: a time, a tap, a denial
    ("back pain for over five years, otherwise well", "routine"),
    ("the tap is just a dribble since the plumber came", "routine"),
    ("Appearances are not suspicious for malignancy.", "routine"),
])
def test_typed_in_a_hurry_findings(text: str, expected: str) -> None:
    assert urgency(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("MRI 24/11 shows a small collection at the L5S1 op site. No temperature.", "urgent"),
    ("Leg pain now bilat since last week (was L only before).", "emergency"),
    ("Leg pain has been bilateral for years, unchanged.", "routine"),
    ("Bone scan: focal hot spot L2, suspicious for lesion, needs further imaging.", "urgent"),
    ("CT: posterior migration of the annular closure implant at L5-S1. Neuro intact.", "urgent"),
    ("R leg pain 9/10 way worse than back. MRI shows right foraminal stenosis L5/S1 matching "
     "her sx. no weakness", "soon"),
    ("leg pain 8 out of 10, back not too bad. MRI says re-herniation L5S1 on the left hitting "
     "the nerve", "soon"),
    ("pain in my right leg is 8/10 and my back is 4. mri said severe central canal stenosis at "
     "L4-5 compressing the nerves.", "soon"),
])
def test_report_words_as_people_type_them(text: str, expected: str) -> None:
    assert urgency(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # over, in people's words, with the finding's subject left out or a pronoun
    ("had numb bum for a day or so just after surgery in may, went away n never came back",
     "routine"),
    ("had to have a catheter after the op cos of retention but its been fine ever since",
     "routine"),
    ("wound had a bit of oozing in june, had antibiotics, healed up totally since", "routine"),
    # near misses: another thing went away, or it never did
    ("I can't feel my bum and the leg pain went away", "emergency"),
    ("I can't feel my bum, the leg pain has been fine ever since", "emergency"),
    ("numb bum since Tuesday, hasn't gone away", "emergency"),
    # a new mild weakness that the next sentence says is not progressing
    ("NEW MILD WEAKNESS L DF 4/5. NOT PROGRESSING ON RETEST. NO RED FLAGS", "soon"),
    ("Power 4/5 R plantarflexion, new. Improving slightly.", "soon"),
    ("New L DF 4/5. Back pain not worse.", "emergency"),
])
def test_over_and_not_progressing_as_people_say_it(text: str, expected: str) -> None:
    assert urgency(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # a care home's words for the red flags (blind care-home table), in an 82-year-old
    ('When we wiped her bottom she said "I can\'t feel that, have you done it?"', "emergency"),
    ("Since Monday she doesn't seem to know when she needs to go and isn't aware when she has "
     "been.", "emergency"),
    ("Day-time dry for months. From 22/11 wet at every day-time check.", "emergency"),
    ("New since Sunday: leakage of liquid stool into pad several times a day.", "emergency"),
    ("About 10 days ago started again in BOTH legs and staff say it is worse every day.",
     "emergency"),
    ("Resident found at the bottom of the main staircase (14 steps), unwitnessed.", "emergency"),
    ("Pad dry since lunchtime. Our bladder scan approx 800 mL.", "emergency"),
    ("Rolled out of bed overnight. Left hip X-ray normal.", "urgent"),
    ("Found Edith kneeling on the floor by her bed, no visible injury.", "urgent"),
    ("The back wound (not the sacral area) has a small sinus at the lower end draining serous "
     "fluid. Apyrexial.", "urgent"),
    # near misses: a thing found on the floor, a nose's sinuses, a wound's trickle
    ("Found it on the floor by the bed: her hearing aid.", "routine"),
    ("Her sinuses are draining since the cold.", "routine"),
    ("Dressing changed; the wound: it's only a trickle.", "routine"),
    # her usual, in the words carers use
    ("Continence reassessment: long-standing mixed incontinence, pads for 4+ years.", "routine"),
    ("Body map: incontinence-associated dermatitis from her pads. Barrier cream.", "routine"),
    ("New: mild L foot weakness (4/5) found by GP Tues, same Thurs.", "soon"),
    ("Fell in 2025 (wrist fracture, healed). Now: new mild weakness of the left ankle 4/5, "
     "present for 3 weeks, not changing.", "soon"),
])
def test_a_care_homes_words(text: str, expected: str) -> None:
    assert urgency(text, age=82) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # bladder, bowel and sexual losses in clinic letters and people's words (blind pelvic
    # clinics, medicines and work tables)
    ("She says since Tuesday she is numb when I wipe, like the dentist has been.", "emergency"),
    ('She reports the labia and the area between the legs feel "dead" since Sunday.',
     "emergency"),
    ("since tues the wee just comes out i dont feel it coming", "emergency"),
    ("Since last Friday she has had to self-catheterise because she just can't empty, taught "
     "by the district nurse.", "emergency"),
    ('Since then she says her bladder "won\'t empty", she goes back 3-4 times.', "emergency"),
    ("She leaks urine when she coughs or sneezes, never had this before.", "emergency"),
    ("it takes a while to start passing urine since last week", "emergency"),
    ("he keeps going to the toilet for a wee and then can't get it started", "emergency"),
    ("Now brown fluid is leaking into her pad - she can't hold it.", "emergency"),
    ("Pt had an accident in bed - bowels opened without her feeling it coming.", "emergency"),
    ("Since last weekend I can't feel anything when we have sex.", "emergency"),
    ("since the fall on monday theres no feeling when i come", "emergency"),
    # near misses: a mind's hesitancy, an employer's retention, a UTI's cloudy urine
    ("Urine comes out cloudy and smells since Monday.", "routine"),
    ("He expressed some hesitancy about going back up the scaffold. Waterworks normal.",
     "routine"),
    ("Frankly, retention of experienced scaffolders is a big issue for us.", "routine"),
    ("hesitancy to start his stream since Monday", "emergency"),
])
def test_losses_in_clinic_letters_and_peoples_words(text: str, expected: str) -> None:
    assert urgency(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # both legs, and the thoracic level (blind thoracic, physiotherapy and discharge tables)
    ("Since Tuesday he is numb from the belly button down, both sides.", "emergency"),
    ("Since Sunday I can't feel where my feet are unless I look at them.", "emergency"),
    ("From day 4 he reported pins and needles and numbness over both soles, persisting.",
     "emergency"),
    ("Since Sunday, pins and needles from his bum right down the backs of both legs.",
     "emergency"),
    ("Left leg sciatica for 5 months. Pain and tingling in the right leg as well since last "
     "week.", "emergency"),
    ("He reports sciatica down both legs which began last week and has not settled.",
     "emergency"),
    # a severe deficit dated by its cause, and MRC 3 in words
    ("After a scrum collapse on Saturday 21/11 he has a right foot drop, dorsiflexion 2/5.",
     "emergency"),
    ("Can lift the right foot up against gravity only - this has come on since Wednesday.",
     "emergency"),
    # a fall from the top of a ladder, a temperature on the family's thermometer
    ("Yesterday he fell from the top of a 3 m ladder while clearing gutters.", "emergency"),
    ("Temperature since last night - 101.2 on our thermometer - and the scar has gone red and "
     "hot.", "emergency"),
    # near misses: a weakness there before the operation, a temperature denied
    ("Right EHL 4/5 - present before his 2024 operation and never fully recovered.", "routine"),
    ("Scar leaking a little for five days; she has not had a temperature.", "urgent"),
])
def test_both_legs_levels_falls_and_temperatures(text: str, expected: str) -> None:
    assert urgency(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    # the dentist's numbness in the saddle's words, read as one sentence's combination
    ("His bottom and the inside of his thighs feel \"like I've had an injection at the "
     "dentist\" when he sits on the toilet.", "emergency"),
    ("The area between her legs feels like it's been injected at the dentist.", "emergency"),
    # near miss: a bottom and a dentist in one sentence, nothing numb
    ("Her bum is fine, she saw the dentist today.", "routine"),
])
def test_numb_like_the_dentist(text: str, expected: str) -> None:
    assert urgency(text) == expected
