(throw "the left second") > (throw "the right first")
