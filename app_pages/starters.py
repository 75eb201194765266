"""Starter questions of the Start page, in each language."""

# Questions the bundled sample office answers, by the three areas of a general office's work; the
# Chinese ones are answered by corpus/zh (its implementing rules, meeting rules, duty and seal rules).
STARTERS = {
    "en": {
        "documents": [
            "How is the attachment note placed?",
            "Who signs a document issued in the name of the municipal government?",
            "What happens after a request for instructions is received?",
            "How long are official documents kept in the archives?",
        ],
        "meetings": [
            "How many days ahead must a meeting notice be sent?",
            "What must meeting minutes record?",
            "How does a participant ask for leave from a meeting?",
            "What was decided on the 2024 flood season preparation?",
        ],
        "affairs": [
            "When is a coordination meeting called?",
            "How is the implementation of decisions supervised?",
            "Within how many minutes must an emergency be reported to the duty office?",
            "What are the deadlines for submitting information to the general office?",
        ],
    },
    "zh": {
        "documents": [
            "请示应当在附注处注明什么？",
            "发文字号由哪几部分组成？",
            "一般请示件应当在多少个工作日内办结？",
            "以办公厅名义印发的公文由谁签发？",
        ],
        "meetings": [
            "常务会议的会议通知最迟在会前几个工作日发出？",
            "常务会议原则上每月召开几次？",
            "协调会议纪要应当在几个工作日内印发？",
            "全市性会议主会场参会人数不超过多少人？",
        ],
        "affairs": [
            "重大突发事件应当在多长时间内电话报告总值班室？",
            "值班日志和值班电话录音保存多长时间？",
            "外带印章需要几名工作人员陪同？",
            "办公厅新印章自哪一天起启用？",
        ],
    },
}
