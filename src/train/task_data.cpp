// task_data.cpp — picks the task implementation from the data config (see task_data.h).
#include "sea/train/task_data.h"

namespace sea::train {

std::unique_ptr<TaskData> make_lm_task_data(const data::DataConfig& data, bool load_train);    // lm_task_data.cpp
std::unique_ptr<TaskData> make_glue_task_data(const data::DataConfig& data, bool load_train);  // glue_task_data.cpp

std::unique_ptr<TaskData> make_task_data(const data::DataConfig& data, bool load_train) {
  return data.is_glue() ? make_glue_task_data(data, load_train) : make_lm_task_data(data, load_train);
}

}  // namespace sea::train
