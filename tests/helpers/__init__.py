"""What many tests share and no test is about: waiting for something to happen
(`helpers.polling`) and certificate documents to send (`helpers.documents`)."""
